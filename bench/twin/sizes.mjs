#!/usr/bin/env node
// Transfer size of a built single-page app: the page (index.html) plus the JS, CSS and .wasm
// files it references (tags and inline imports) and the modules those import (trunk's
// wasm-bindgen snippets), so that the twin's dist/ and the Rust demo's trunk dist/ are measured
// alike. Bytes raw, `gzip -9` (the command, as bench/client/run.sh measures; zlib level 9
// without it) and brotli (node's zlib at quality 11, window 24, as `brotli -q 11`).
//
//   node sizes.mjs <dist-dir> [page.html]          prints a table
//   import { measureSizes } from './sizes.mjs'     { page, files: [...], total: {raw, gzip, brotli} }
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const gzip = (bytes) => {
  try {
    return execFileSync('gzip', ['-9', '-c'], { input: bytes, maxBuffer: 1 << 30 }).length;
  } catch {
    return zlib.gzipSync(bytes, { level: 9 }).length;
  }
};
const brotli = (bytes) =>
  zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  }).length;

/** Local JS, CSS and .wasm paths quoted in the page, and the modules a JS file imports. */
const PAGE_REFS = /["'](\/?[^"'\s>]+\.(?:js|mjs|css|wasm))["']/g;
const JS_IMPORTS = /(?:\bfrom|\bimport)\s*\(?\s*["'](\.{0,2}\/[^"']+\.m?js)["']/g;

export function measureSizes(dir, page = 'index.html') {
  const found = new Set([page]);
  const queue = [page];
  while (queue.length) {
    const file = queue.shift();
    if (!/\.(html|m?js)$/.test(file)) continue;
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const [, ref] of text.matchAll(file.endsWith('.html') ? PAGE_REFS : JS_IMPORTS)) {
      if (/^[a-z]+:/i.test(ref)) continue;
      const target = ref.startsWith('/') ? ref.slice(1) : path.posix.join(path.posix.dirname(file), ref);
      if (!found.has(target)) {
        found.add(target);
        queue.push(target);
      }
    }
  }
  const files = [...found].map((file) => {
    const bytes = readFileSync(path.join(dir, file));
    return { file, raw: bytes.length, gzip: gzip(bytes), brotli: brotli(bytes) };
  });
  const total = { raw: 0, gzip: 0, brotli: 0 };
  for (const f of files) for (const k of Object.keys(total)) total[k] += f[k];
  return { page, files, total };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir = 'dist', page = 'index.html'] = process.argv.slice(2);
  const { files, total } = measureSizes(dir, page);
  const kb = (n) => (n / 1024).toFixed(2).padStart(9);
  console.log(`${'file'.padEnd(40)} ${'raw KB'.padStart(9)} ${'gzip -9'.padStart(9)} ${'brotli'.padStart(9)}`);
  for (const r of [...files, { file: 'total', ...total }]) {
    console.log(`${r.file.padEnd(40)} ${kb(r.raw)} ${kb(r.gzip)} ${kb(r.brotli)}`);
  }
}
