// Two builds into dist/, so that neither shares a chunk with the other:
//   vite build              the app (index.html): the bundle whose size is reported
//   vite build --mode bench the mutation benchmark page (mutation.html), added beside it
import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const STATIC = new URL('../../static/', import.meta.url);

/** The demo's favicon and web manifest (static/), copied as the Rust build copies them. */
function demoStatic() {
  return {
    name: 'demo-static',
    generateBundle() {
      for (const fileName of ['favicon.svg', 'site.webmanifest']) {
        this.emitFile({ type: 'asset', fileName, source: readFileSync(new URL(fileName, STATIC)) });
      }
    },
  };
}

export default defineConfig(({ mode }) => {
  const bench = mode === 'bench';
  return {
    plugins: [react(), !bench && demoStatic()],
    // static/app.css is imported from the repository's static/ folder.
    server: { fs: { allow: ['../..'] } },
    build: {
      outDir: 'dist',
      // One bundle per page, on purpose (it is what is measured).
      chunkSizeWarningLimit: 1024,
      emptyOutDir: !bench,
      rolldownOptions: { input: bench ? 'mutation.html' : 'index.html' },
    },
  };
});
