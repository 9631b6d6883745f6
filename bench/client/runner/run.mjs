// Runs the browser benchmark in headless Chromium (playwright-core driving /usr/bin/chromium) and
// prints markdown tables: ours vs the official client, with ratios.
//
//   node runner/run.mjs [--smoke] [--dist DIR] [--json FILE] [--variants ours,ours-oz]
//                       [--chromium PATH] [--profile]
//
// Every scenario runs in a fresh page (fresh client, fresh fake server), in one browser.

import { createServer } from "node:http";
import { readFile, writeFile, stat } from "node:fs/promises";
import { extname, join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};

const smoke = flag("--smoke");
const dist = resolve(option("--dist", join(here, "..", "dist")));
const jsonOut = option("--json", null);
const chromiumPath = option("--chromium", process.env.CHROMIUM || "/usr/bin/chromium");
const variants = option("--variants", "ours").split(",").filter(Boolean);
const sizesFile = option("--sizes", join(dist, "sizes.json"));
// --cpuprofile: also record DevTools CPU profiles of the timed deliveries (scenarios A1000 and
// B1000) for convex-js and for the `ours-prof` page (the speed build with its function names).
const cpuprofile = flag("--cpuprofile");

const SCENARIOS = smoke
  ? {
      A1000: { n: 30, updates: "all", perRound: 3, rounds: 2, warmup: 1 },
      A100: { n: 10, updates: "all", perRound: 3, rounds: 2, warmup: 1 },
      B1000: { n: 30, updates: "one", perRound: 10, rounds: 2, warmup: 1 },
      C: { n: 50 },
    }
  : {
      A1000: { n: 1000, updates: "all", perRound: 5, rounds: 15, warmup: 4 },
      A100: { n: 100, updates: "all", perRound: 25, rounds: 15, warmup: 5 },
      B1000: { n: 1000, updates: "one", perRound: 250, rounds: 15, warmup: 5 },
      C: { n: 2000 },
    };

// --scenarios A1000,C: run only these (the tables then show only them).
const only = option("--scenarios", null);
if (only) {
  for (const key of Object.keys(SCENARIOS)) if (!only.split(",").includes(key)) delete SCENARIOS[key];
}

const LABELS = {
  A1000: (s) => `A: N = ${s.n}, all updated`,
  A100: (s) => `A: N = ${s.n}, all updated`,
  B1000: (s) => `B: N = ${s.n}, one updated`,
};
const TARGETS = {
  A1000: "≤ JS; aim ½",
  A100: "≤ JS",
  B1000: "≤ 0.05 ms",
  C: "≤ 1.5 KB",
};

// ----- a static server with cross-origin isolation (5 µs performance.now() resolution) -----

const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
};

function serve(root) {
  const server = createServer(async (req, res) => {
    try {
      let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (path.endsWith("/")) path += "index.html";
      const file = resolve(join(root, path));
      if (!file.startsWith(root)) throw new Error("outside");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] || "application/octet-stream",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
        "cache-control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end("not found");
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// ----- running pages -----

async function inPage(browser, base, page, call, options) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const logs = [];
  tab.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  tab.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  try {
    await tab.goto(`${base}/${page}/`);
    await tab.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });
    const isolated = await tab.evaluate(() => globalThis.crossOriginIsolated);
    const result = await tab.evaluate(
      ([call, options]) => window.bench[call](options),
      [call, options],
    );
    return { ...result, isolated };
  } catch (e) {
    throw new Error(`${page} ${call} ${JSON.stringify(options)}: ${e.message}\n${logs.join("\n")}`);
  } finally {
    await context.close();
  }
}

/** Runs `transitions` with DevTools' sampling profiler; returns self time by function. */
async function profiled(browser, base, page, options) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const profiles = [];
  try {
    await tab.goto(`${base}/${page}/`);
    await tab.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });
    const cdp = await context.newCDPSession(tab);
    cdp.on("Profiler.consoleProfileFinished", (e) => profiles.push(e.profile));
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 50 });
    await tab.evaluate((o) => window.bench.transitions(o), { ...options, profile: true });
    await tab.waitForTimeout(200);
  } finally {
    await context.close();
  }
  const self = new Map();
  let total = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const counts = new Map();
    for (const id of profile.samples || []) counts.set(id, (counts.get(id) || 0) + 1);
    for (const [id, count] of counts) {
      const frame = byId.get(id).callFrame;
      const name = frame.functionName || `(anonymous ${frame.url.split("/").pop()})`;
      self.set(name, (self.get(name) || 0) + count);
      total += count;
    }
  }
  return { total, self: [...self.entries()].sort((a, b) => b[1] - a[1]) };
}

/** Coarse buckets for the wasm functions' names (and the JS client's). */
function bucket(name) {
  const rules = [
    [/\(garbage collector\)/, "JS garbage collector"],
    [/passStringToWasm|charCodeAt|string_get|__wbg_|__wbindgen|getStringFromWasm|decodeText/, "wasm-bindgen glue (string copy, imports)"],
    [/dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_|\bmalloc\b|\bfree\b|GlobalAlloc|Counting/, "allocator (dlmalloc)"],
    [/drop_in_place/, "drops (freeing old values)"],
    [/serde_json|serde::de|serde_core|visit_map|ValueVisitor|deserialize|Deserialize|parse_str|parse_whitespace|ignore_|scan/, "JSON parsing into Value (serde)"],
    [/yew_convex::value|PartialEq|\bcmp\b|memcmp|bcmp/, "Value equality and helpers"],
    [/hashbrown|HashMap|HashSet|sip|Hasher|hash/, "hash maps"],
    [/btree|BTree/, "BTreeMap/BTreeSet"],
    [/yew_convex::sync::engine|SyncEngine/, "engine"],
    [/yew_convex::client|pump|bench_harness|callback/, "client layer and callbacks"],
    [/memcpy|memmove|memset/, "memcpy/memset"],
    [/^parse$|JSON/, "JSON.parse"],
  ];
  for (const [re, label] of rules) if (re.test(name)) return label;
  return "other";
}

function profileReport(label, p, top = 20) {
  const out = [`#### ${label} (${p.total} samples of 50 µs)`, ""];
  const buckets = new Map();
  for (const [name, count] of p.self) buckets.set(bucket(name), (buckets.get(bucket(name)) || 0) + count);
  out.push("| bucket | self time |", "| --- | ---: |");
  for (const [b, count] of [...buckets.entries()].sort((x, y) => y[1] - x[1])) {
    out.push(`| ${b} | ${((100 * count) / p.total).toFixed(1)} % |`);
  }
  out.push("", "| function | self time |", "| --- | ---: |");
  for (const [name, count] of p.self.slice(0, top)) {
    const shown = name.length > 110 ? name.slice(0, 107) + "..." : name;
    out.push(`| \`${shown.replace(/\|/g, "\\|")}\` | ${((100 * count) / p.total).toFixed(1)} % |`);
  }
  return out.join("\n");
}

const ms = (x) => (x >= 1 ? x.toFixed(2) : x >= 0.1 ? x.toFixed(3) : x.toFixed(4));
const kb = (bytes) => (bytes / 1024).toFixed(2);
const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) : "n/a");

async function main() {
  const root = resolve(dist);
  const server = await serve(root);
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--js-flags=--expose-gc",
      "--enable-precise-memory-info",
    ],
  });
  const version = browser.version();
  const results = { date: new Date().toISOString(), chromium: version, smoke, scenarios: {} };
  const clients = ["js", ...variants];
  try {
    for (const [key, options] of Object.entries(SCENARIOS)) {
      results.scenarios[key] = { options };
      for (const client of clients) {
        const call = key === "C" ? "heap" : "transitions";
        process.stderr.write(`[bench] ${key} ${client} ${JSON.stringify(options)}\n`);
        results.scenarios[key][client] = await inPage(browser, base, client, call, options);
      }
      if (key !== "C") {
        for (const client of variants) {
          process.stderr.write(`[bench] ${key} ${client} engine routes\n`);
          results.scenarios[key][`${client}:routes`] = await inPage(
            browser,
            base,
            client,
            "routes",
            options,
          );
        }
      }
    }
    if (cpuprofile) {
      results.profiles = {};
      for (const key of ["A1000", "B1000"].filter((k) => SCENARIOS[k])) {
        for (const page of ["js", "ours-prof"]) {
          process.stderr.write(`[bench] ${key} ${page} cpu profile\n`);
          results.profiles[`${key} ${page}`] = await profiled(browser, base, page, SCENARIOS[key]);
        }
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  try {
    results.sizes = JSON.parse(await readFile(sizesFile, "utf8"));
  } catch {
    results.sizes = null;
  }
  if (jsonOut) await writeFile(jsonOut, JSON.stringify(results, null, 2));
  check(results, clients);
  console.log(report(results, variants));
  if (results.profiles) {
    console.log("\n### CPU profiles of the timed deliveries (self time)\n");
    for (const [key, p] of Object.entries(results.profiles)) {
      const [scenario, page] = key.split(" ");
      const who = page === "js" ? "convex-js" : "yew-convex (O3, names kept)";
      console.log(profileReport(`${LABELS[scenario](SCENARIOS[scenario])}, ${who}`, p) + "\n");
    }
  }
}

/** Fails loudly when the clients were not fed the same texts or a run was not isolated. */
function check(results, clients) {
  for (const [key, s] of Object.entries(results.scenarios)) {
    if (key === "C") continue;
    const prints = new Set(clients.map((c) => s[c].fingerprint));
    if (prints.size !== 1) {
      throw new Error(`${key}: the clients were fed different texts (${[...prints].join(", ")})`);
    }
  }
}

function report(results, variants) {
  const out = [];
  const S = results.scenarios;
  const v0 = variants[0];
  const name = {
    ours: results.smoke ? "yew-convex (smoke build)" : "yew-convex (O3)",
    "ours-oz": "yew-convex (Oz)",
    "ours-typed": "yew-convex (O3), callbacks decode their item",
  };
  out.push(
    `Chromium ${results.chromium}, ${results.date.slice(0, 10)}${results.smoke ? " — SMOKE RUN (tiny N; figures meaningless)" : ""}`,
    "",
    "### Time per Transition (from `onmessage` to the last callback; median of rounds)",
    "",
    `| scenario | ${variants.map((v) => name[v] || v).join(" | ")} | convex-js | ${variants.map((v) => `ratio ${name[v] || v} / JS`).join(" | ")} | target |`,
    `| --- | ${variants.map(() => "---:").join(" | ")} | ---: | ${variants.map(() => "---:").join(" | ")} | --- |`,
  );
  for (const key of ["A1000", "A100", "B1000"].filter((k) => S[k])) {
    const s = S[key];
    const js = s.js.perMessageMs.median;
    out.push(
      `| ${LABELS[key](s.options)} | ${variants.map((v) => `${ms(s[v].perMessageMs.median)} ms`).join(" | ")} | ${ms(js)} ms | ${variants.map((v) => ratio(s[v].perMessageMs.median, js)).join(" | ")} | ${TARGETS[key]} |`,
    );
  }
  const c = S.C;
  if (c) {
    out.push(
      `| C: heap per subscription (N = ${c.options.n}, 1 KB values) | ${variants.map((v) => `${kb(c[v].totalPerSub)} KB`).join(" | ")} | ${kb(c.js.totalPerSub)} KB | ${variants.map((v) => ratio(c[v].totalPerSub, c.js.totalPerSub)).join(" | ")} | ${TARGETS.C} |`,
    );
  }
  out.push("");
  const timed = ["A1000", "A100", "B1000"].filter((k) => S[k]);
  if (timed.length) {
    out.push(
      `Message sizes: ${timed.map((k) => `${k} ${S[k].js.textBytes} bytes (N = ${S[k].options.n})`).join(", ")}. ` +
        `Same texts for every client (fingerprints ${timed.map((k) => S[k].js.fingerprint).join(", ")}). ` +
        `crossOriginIsolated: ${S[timed[0]].js.isolated}.`,
    );
  }
  out.push("");
  out.push("### Spread (min / median / max ms per Transition)", "");
  const label = (v) => (v === "js" ? "convex-js" : name[v] || v);
  out.push(`| scenario | ${["js", ...variants].map(label).join(" | ")} |`);
  out.push(`| --- | ${["js", ...variants].map(() => "---").join(" | ")} |`);
  for (const key of ["A1000", "A100", "B1000"].filter((k) => S[k])) {
    const s = S[key];
    out.push(
      `| ${LABELS[key](s.options)} | ${["js", ...variants].map((v) => `${ms(s[v].perMessageMs.min)} / ${ms(s[v].perMessageMs.median)} / ${ms(s[v].perMessageMs.max)}`).join(" | ")} |`,
    );
  }
  if (c) {
    out.push("", "### Heap per subscription (scenario C)", "");
    out.push(
      "| client | JS heap | Rust heap (requested bytes) | Rust blocks | total | of which: subscription before its value | the value |",
    );
    out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const v of ["js", ...variants]) {
      const h = c[v];
      out.push(
        `| ${label(v)} | ${h.jsHeapPerSub.toFixed(0)} B | ${h.rustHeapPerSub.toFixed(0)} B | ${h.rustBlocksPerSub.toFixed(1)} | ${kb(h.totalPerSub)} KB | ${h.subscriptionPerSub.toFixed(0)} B | ${h.valuePerSub.toFixed(0)} B |`,
      );
    }
  }
  for (const v of variants) {
    out.push("");
    out.push(`### JSON routes and where the time goes, ${name[v] || v} (ms per Transition, medians)`, "");
    out.push(
      "| scenario | client | engine, text via encodeInto (the client's route) | engine, text via wasm-bindgen's copy | text copy via encodeInto | text copy via wasm-bindgen | parse alone, via encodeInto (incl. copy) | parse alone, via wasm-bindgen (incl. copy) | apply (engine − parse, encodeInto) | JSON.parse alone | JS client's JSON.parse alone |",
    );
    out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const key of ["A1000", "A100", "B1000"].filter((k) => S[k])) {
      const s = S[key];
      const r = s[`${v}:routes`];
      out.push(
        `| ${LABELS[key](s.options)} | ${ms(s[v].perMessageMs.median)} | ${ms(r.encodeInto.median)} | ${ms(r.text.median)} | ${ms(r.copyEncodeInto.median)} | ${ms(r.copyOnly.median)} | ${ms(r.parseEncodeInto.median)} | ${ms(r.parseText.median)} | ${ms(r.encodeInto.median - r.parseEncodeInto.median)} | ${ms(r.jsonParse.median)} | ${ms(s.js.jsonParseMs.median)} |`,
      );
    }
  }
  const sz = results.sizes;
  if (sz) {
    out.push("");
    out.push(`### Bundle, gzip -9 (${sz.profile}; wasm-opt ${sz.wasmOpt})`, "");
    out.push("| page | wasm | JS glue | total | client's share |");
    out.push("| --- | ---: | ---: | ---: | ---: |");
    const row = (label, p, baseline) =>
      `| ${label} | ${p.wasm !== undefined ? kb(p.wasm) + " KB" : "—"} | ${kb(p.js)} KB | ${kb(p.total)} KB | ${baseline ? `+${kb(p.total - baseline.total)} KB` : ""} |`;
    if (sz.plain) out.push(row("wasm page, no client (page-plain)", sz.plain));
    if (sz.client) out.push(row("wasm page + ConvexClient (page-client)", sz.client, sz.plain));
    if (sz.yew) out.push(row("yew + yew-router app (page-yew)", sz.yew));
    if (sz.yewClient) out.push(row("yew + yew-router app + ConvexClient (page-yew-client)", sz.yewClient, sz.yew));
    if (sz.yewHooks) {
      out.push(
        row("the same app on the Yew layer, no auth (page-yew-hooks; over page-yew-client)", sz.yewHooks, sz.yewClient),
      );
    }
    if (sz.yewClerk) {
      out.push(
        row(
          "the same app on the full stack: Yew + Clerk layers (page-yew-clerk; over page-yew-client)",
          sz.yewClerk,
          sz.yewClient,
        ),
      );
    }
    if (sz.jsClient) out.push(row(`convex-js ${sz.convexVersion} ConvexClient page, esbuild --minify`, sz.jsClient, sz.jsPlain));
  }
  return out.join("\n");
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
