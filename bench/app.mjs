// bench/run's app-level figures, both stacks in one headless Chromium run against one devserver:
// bundle sizes, first data (navigation start → the posts list painted with data, cold and warm)
// and mutation to DOM (100 components subscribed to one list: the mutation call until a
// MutationObserver sees all 100 show the new key).
//
//   node bench/app.mjs --out FILE --ours DIR --twin DIR --ours-mutation DIR --twin-mutation DIR
//                      --devserver URL [--first-runs N] [--mutations N] [--chromium PATH]
//
// Each dist folder is served by bench/twin/serve.mjs's server (SPA fallback, /__clerk proxied to
// the devserver). Sides alternate run by run so drift on a shared machine hits both alike.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import { measureSizes } from "./twin/sizes.mjs";

const require = createRequire(new URL("./client/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const out = option("--out", "app.json");
const devserver = option("--devserver", "http://127.0.0.1:3210");
const firstRuns = Number(option("--first-runs", "10"));
const mutations = Number(option("--mutations", "200"));
const chromiumPath = option("--chromium", process.env.CHROMIUM || "/usr/bin/chromium");
const dirs = {
  ours: option("--ours"),
  twin: option("--twin"),
  oursMutation: option("--ours-mutation"),
  twinMutation: option("--twin-mutation"),
};
for (const [k, v] of Object.entries(dirs)) if (!v) throw new Error(`--${k} is required`);

const log = (...m) => process.stderr.write(`[bench app] ${m.join(" ")}\n`);

/** Starts serve.mjs on a free port; resolves with its base URL and a stop function. */
function serve(dir) {
  const script = fileURLToPath(new URL("./twin/serve.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, dir, "0", devserver], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (d) => {
      text += d;
      const m = text.match(/http:\/\/[\d.]+:(\d+)/);
      if (m) resolve({ base: `http://127.0.0.1:${m[1]}`, stop: () => child.kill() });
    });
    child.on("exit", (code) => reject(new Error(`serve.mjs ${dir} exited with ${code}`)));
  });
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
};
const summary = (xs) => ({ n: xs.length, p50: quantile(xs, 0.5), p95: quantile(xs, 0.95), min: Math.min(...xs), max: Math.max(...xs) });

// Runs in the page before its own scripts: the time (since navigation start) of the first
// animation frame after a `.post-list .post-card` with a title exists: the list painted with data.
const FIRST_DATA = () => {
  window.__firstData = new Promise((resolve) => {
    const seen = () => document.querySelector(".post-list .post-card .post-title");
    const done = () => requestAnimationFrame(() => resolve(performance.now()));
    const observer = new MutationObserver(() => {
      if (seen()) {
        observer.disconnect();
        done();
      }
    });
    observer.observe(document, { childList: true, subtree: true });
  });
};

async function firstData(browser, base) {
  const context = await browser.newContext();
  await context.addInitScript(FIRST_DATA);
  const page = await context.newPage();
  const times = [];
  for (const _ of [0, 1]) {
    await page.goto(`${base}/posts`, { waitUntil: "commit" });
    times.push(
      await page.evaluate(() =>
        Promise.race([
          window.__firstData,
          new Promise((_, reject) => setTimeout(() => reject(new Error("no post painted within 60 s")), 60_000)),
        ]),
      ),
    );
  }
  await context.close();
  return { cold: times[0], warm: times[1] };
}

/** Before any page script: records when each Transition frame reaches the page (whichever way
 *  the client listens: `onmessage` or `addEventListener`), for the client-side split. */
function recordTransitions() {
  window.__transitionAt = null;
  const seen = (e) => {
    if (window.__transitionAt === null && typeof e.data === "string" && e.data.startsWith('{"type":"Transition"')) {
      window.__transitionAt = performance.now();
    }
  };
  const onmessage = Object.getOwnPropertyDescriptor(WebSocket.prototype, "onmessage");
  Object.defineProperty(WebSocket.prototype, "onmessage", {
    configurable: true,
    get() {
      return onmessage.get.call(this);
    },
    set(handler) {
      onmessage.set.call(this, handler && ((e) => (seen(e), handler.call(this, e))));
    },
  });
  const add = WebSocket.prototype.addEventListener;
  WebSocket.prototype.addEventListener = function (type, listener, options) {
    if (type === "message" && typeof listener === "function") {
      const inner = listener;
      listener = (e) => (seen(e), inner.call(this, e));
    }
    return add.call(this, type, listener, options);
  };
}

async function mutationToDom(browser, base, n, tag) {
  const page = await browser.newPage();
  await page.addInitScript(recordTransitions);
  await page.goto(`${base}/mutation.html?convex=${encodeURIComponent(devserver)}`);
  await page.waitForFunction(
    () => document.querySelectorAll("li.bench-item[data-count]").length === 100,
    null,
    { timeout: 60_000 },
  );
  const times = [];
  for (let i = 0; i < n; i++) {
    const key = `${tag}-${Date.now()}-${i}`;
    times.push(
      await page.evaluate(
        (key) =>
          new Promise((resolve, reject) => {
            const all = () => document.querySelectorAll(`li.bench-item[data-last="${key}"]`).length === 100;
            let t0;
            const observer = new MutationObserver(() => {
              if (all()) {
                const t1 = performance.now();
                observer.disconnect();
                const at = window.__transitionAt;
                resolve({ total: t1 - t0, client: at === null ? null : t1 - at });
              }
            });
            observer.observe(document.body, { attributes: true, childList: true, subtree: true });
            setTimeout(() => reject(new Error(`${key} not shown by all 100 within 30 s`)), 30_000);
            window.__transitionAt = null;
            t0 = performance.now();
            window.__benchMutate(key).catch(reject);
          }),
        key,
      ),
    );
  }
  await page.close();
  return times;
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"],
});
const servers = {};
try {
  for (const [k, dir] of Object.entries(dirs)) servers[k] = await serve(dir);
  const results = { chromium: browser.version(), date: new Date().toISOString(), sizes: {}, firstData: {}, mutation: {}, mutationClient: {} };
  results.sizes.ours = measureSizes(dirs.ours, "index.html");
  results.sizes.twin = measureSizes(dirs.twin, "index.html");

  const first = { ours: { cold: [], warm: [] }, twin: { cold: [], warm: [] } };
  for (let r = 0; r < firstRuns; r++) {
    for (const side of r % 2 ? ["twin", "ours"] : ["ours", "twin"]) {
      const t = await firstData(browser, servers[side].base);
      first[side].cold.push(t.cold);
      first[side].warm.push(t.warm);
    }
    log(`first data ${r + 1}/${firstRuns}`);
  }
  for (const side of ["ours", "twin"]) {
    results.firstData[side] = { cold: summary(first[side].cold), warm: summary(first[side].warm) };
  }

  // Mutations in alternating batches, so both sides see the same list sizes on average.
  const batch = Math.max(1, Math.min(50, mutations));
  const mut = { ours: [], twin: [] };
  const client = { ours: [], twin: [] };
  for (let done = 0; done < mutations; done += batch) {
    const count = Math.min(batch, mutations - done);
    for (const side of (done / batch) % 2 ? ["twin", "ours"] : ["ours", "twin"]) {
      const base = servers[side === "ours" ? "oursMutation" : "twinMutation"].base;
      for (const t of await mutationToDom(browser, base, count, side)) {
        mut[side].push(t.total);
        if (t.client !== null) client[side].push(t.client);
      }
    }
    log(`mutations ${Math.min(done + batch, mutations)}/${mutations}`);
  }
  for (const side of ["ours", "twin"]) {
    results.mutation[side] = summary(mut[side]);
    results.mutationClient[side] = summary(client[side]);
  }
  await writeFile(out, JSON.stringify(results, null, 2));
  log(`wrote ${out}`);
} finally {
  await browser.close();
  for (const s of Object.values(servers)) s.stop();
}
