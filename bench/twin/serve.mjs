#!/usr/bin/env node
// Static server for a built single-page app (the twin's dist/ or the Rust demo's dist/), with
// Clerk's Frontend API stand-in on the same origin, as `trunk serve` has it:
//
//   node serve.mjs <dist-dir> <port> [backend]
//
// GET/HEAD of a file serves it; any other path without a file extension serves index.html (the
// router takes it from there); /__clerk/* goes to <backend>/__clerk/* (default
// http://127.0.0.1:3210, or $DEVSERVER_URL). Port 0 picks a free one. Node only, no packages.
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [dir, portArg, backendArg] = process.argv.slice(2);
if (!dir || portArg === undefined) {
  console.error('usage: node serve.mjs <dist-dir> <port> [backend URL]');
  process.exit(2);
}
const root = path.resolve(dir);
const backend = new URL(backendArg || process.env.DEVSERVER_URL || 'http://127.0.0.1:3210');
const PROXIED = '/__clerk';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Forwards the request, headers, body and answer unchanged (cookies included). */
function proxy(req, res) {
  const upstream = http.request(
    {
      protocol: backend.protocol,
      hostname: backend.hostname,
      port: backend.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: backend.host },
    },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (e) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`proxy to ${backend.origin}: ${e.message}\n`);
  });
  req.pipe(upstream);
}

async function file(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' });
    return res.end();
  }
  const pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let target = path.join(root, pathname);
  if (target !== root && !target.startsWith(root + path.sep)) {
    res.writeHead(403);
    return res.end();
  }
  let stat = await fs.stat(target).catch(() => null);
  if (stat?.isDirectory()) {
    target = path.join(target, 'index.html');
    stat = await fs.stat(target).catch(() => null);
  }
  if (!stat?.isFile()) {
    // A missing asset is a 404; any other path is a route of the app.
    if (path.extname(pathname)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found\n');
    }
    target = path.join(root, 'index.html');
    stat = await fs.stat(target).catch(() => null);
    if (!stat) {
      res.writeHead(404);
      return res.end();
    }
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(target)] ?? 'application/octet-stream',
    'content-length': stat.size,
    'cache-control': 'no-cache',
  });
  if (req.method === 'HEAD') return res.end();
  createReadStream(target).pipe(res);
}

const server = http.createServer((req, res) => {
  if (req.url === PROXIED || req.url.startsWith(PROXIED + '/') || req.url.startsWith(PROXIED + '?')) {
    return proxy(req, res);
  }
  file(req, res).catch((e) => {
    res.writeHead(500);
    res.end(String(e));
  });
});
server.listen(Number(portArg), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`serving ${root} on http://127.0.0.1:${port} (${PROXIED} -> ${backend.origin})`);
});
