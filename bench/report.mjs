// Writes bench/RESULTS.md (and its chart, results.svg) from one bench/run: the client figures
// (bench/client/run.sh --json) and the app figures (bench/app.mjs), every ratio ours / JavaScript
// from both sides of the same run.
//
//   node bench/report.mjs --client client.json --app app.json --out RESULTS.md --svg results.svg
//                         [--commit SHA] [--smoke]
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const client = JSON.parse(await readFile(option("--client"), "utf8"));
const app = JSON.parse(await readFile(option("--app"), "utf8"));
const outFile = option("--out", "RESULTS.md");
const svgFile = option("--svg", "results.svg");
const commit = option("--commit", "?");
const smoke = args.includes("--smoke") || client.smoke;

const ms = (x) => (x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x >= 0.1 ? x.toFixed(3) : x.toFixed(4));
const kb = (b) => (b / 1024).toFixed(1);
const S = client.scenarios;

/** Rows: [figure, ours, js, ratio (ours / js), target (max ratio), unit formatter]. */
const rows = [];
const add = (figure, ours, js, target, fmt, note = "") => {
  if (ours === undefined || js === undefined || !Number.isFinite(ours) || !Number.isFinite(js)) return;
  rows.push({ figure, ours, js, ratio: ours / js, target, fmt, note });
};
const per = (key, v) => S[key]?.[v]?.perMessageMs?.median;
const msf = (x) => `${ms(x)} ms`;
for (const [key, label, target] of [
  ["A1000", "A: all of N = 1000 updated, per Transition", 0.8],
  ["A100", "A: all of N = 100 updated, per Transition", 0.8],
  ["B1000", "B: one of 1000 updated, per Transition", 0.05],
]) {
  add(label, per(key, "ours"), per(key, "js"), target, msf, "callbacks read nothing (values stay text)");
  add(`${label}, every callback decodes its item`, per(key, "ours-typed"), per(key, "js"), target, msf, "what a component showing the value pays");
}
const heap = S.C;
if (heap) add("C: heap per subscription, N = 2000, 1 KB values", heap.ours?.totalPerSub, heap.js?.totalPerSub, 1.0, (b) => `${kb(b)} KB`, "JS heap + wasm heap in use");
const sz = app.sizes;
add("full demo bundle, gzip -9 (clerk-js excluded)", sz.ours.total.gzip, sz.twin.total.gzip, 1.0, (b) => `${kb(b)} KB`);
add("full demo bundle, brotli", sz.ours.total.brotli, sz.twin.total.brotli, 1.0, (b) => `${kb(b)} KB`);
add("full demo bundle, raw", sz.ours.total.raw, sz.twin.total.raw, null, (b) => `${kb(b)} KB`);
add("mutation to DOM, p50 (100 components on one list)", app.mutation.ours.p50, app.mutation.twin.p50, 0.8, msf);
add("mutation to DOM, p95", app.mutation.ours.p95, app.mutation.twin.p95, null, msf);
if (app.mutationClient?.ours?.n && app.mutationClient?.twin?.n) {
  add("mutation to DOM, client side only, p50 (Transition frame arrives → DOM)", app.mutationClient.ours.p50,
    app.mutationClient.twin.p50, null, msf, "the rest is the devserver's round trip, the same for both");
}
add("first data, cold (navigation start → posts painted), p50", app.firstData.ours.cold.p50, app.firstData.twin.cold.p50, 1.0, msf);
add("first data, warm (HTTP cache), p50", app.firstData.ours.warm.p50, app.firstData.twin.warm.p50, null, msf);

const cpus = os.cpus();
const lines = [];
lines.push("# Benchmark results: yew-convex beside the JavaScript stack");
lines.push("");
if (smoke) lines.push("**SMOKE RUN: tiny counts and unoptimised builds; these figures mean nothing.**", "");
lines.push(
  `Written by \`bench/run\` on ${app.date.slice(0, 16).replace("T", " ")} UTC at commit \`${commit}\`, ` +
    `${cpus.length} × ${cpus[0]?.model?.trim() ?? "?"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `${os.platform()} ${os.release()}, Chromium ${client.chromium} headless, convex-js ${client.sizes?.convexVersion ?? "?"}.`,
);
lines.push("Every ratio is ours / JavaScript from both sides measured in this same run; below 1 is better for us.");
lines.push("");
lines.push("![ratios](results.svg)");
lines.push("");
lines.push("| figure | yew-convex | JavaScript | ratio | target | met | note |");
lines.push("| --- | ---: | ---: | ---: | ---: | --- | --- |");
for (const r of rows) {
  const met = r.target == null ? "" : r.ratio <= r.target ? "yes" : "**no**";
  lines.push(
    `| ${r.figure} | ${r.fmt(r.ours)} | ${r.fmt(r.js)} | ${r.ratio.toFixed(2)} | ${r.target == null ? "" : `≤ ${r.target}`} | ${met} | ${r.note} |`,
  );
}
lines.push("");
lines.push("## What each side is");
lines.push("");
lines.push(
  "- **A, B, C**: `bench/client` — our `ConvexClient` (speed build: opt-level 3, LTO, `wasm-opt -O3`) and " +
    "convex-js's `ConvexClient`, fed byte-identical Transitions by the same in-page fake server " +
    "(method: `bench/client/README.md`). Medians of rounds.",
);
lines.push(
  "- **Bundles**: the demo (`trunk build --release`: opt-level z, LTO, `wasm-opt -Oz`) and its JavaScript twin " +
    "(`bench/twin`: React, convex/react, @convex-dev/react-query + TanStack Query, TanStack Router, Clerk's React SDK; " +
    "`vite build`): index.html plus every JS, CSS and wasm file it loads. clerk-js is loaded at run time from the " +
    "Clerk stand-in on both sides and is not counted.",
);
lines.push(
  `- **Mutation to DOM**: ${app.mutation.ours.n} mutations per side (\`ledger:add\` against the devserver), 100 mounted ` +
    "components each subscribed to `ledger:list`; from the mutation call until a MutationObserver sees all 100 show the new key. " +
    "The client-side split starts when the Transition frame reaches the page (a wrapper around the socket's message handler, on both sides).",
);
lines.push(
  `- **First data**: ${app.firstData.ours.cold.n} fresh browser contexts per side, each opening \`/posts\` (cold: empty HTTP cache) ` +
    "then again (warm); the time from navigation start to the first animation frame after the list shows a post.",
);
lines.push("");
const routes = S.A1000?.["ours:routes"];
if (routes) {
  lines.push("## Where a Transition's milliseconds go (A, N = 1000, ours, medians)");
  lines.push("");
  lines.push("| step | ms |");
  lines.push("| --- | ---: |");
  lines.push(`| text into wasm memory (\`TextEncoder.encodeInto\`, the client's route) | ${ms(routes.copyEncodeInto.median)} |`);
  lines.push(`| text into wasm memory (wasm-bindgen's copy, the route before) | ${ms(routes.copyOnly.median)} |`);
  lines.push(`| copy + parse (the reader checks every value and copies its text; nothing decoded) | ${ms(routes.parseEncodeInto.median)} |`);
  lines.push(`| engine: copy + parse + apply | ${ms(routes.encodeInto.median)} |`);
  lines.push(`| apply alone (engine − parse) | ${ms(routes.encodeInto.median - routes.parseEncodeInto.median)} |`);
  lines.push(`| client: engine + callbacks | ${ms(per("A1000", "ours"))} |`);
  lines.push(`| JavaScript: \`JSON.parse\` alone | ${ms(S.A1000.js.jsonParseMs?.median ?? NaN)} |`);
  lines.push(`| JavaScript: the whole client | ${ms(per("A1000", "js"))} |`);
  lines.push("");
}
lines.push("## Reproduce");
lines.push("");
lines.push("```sh");
lines.push("bench/run            # builds both stacks, measures, rewrites bench/RESULTS.md and bench/results.svg");
lines.push("bench/run --smoke    # the same pipeline with tiny counts (CI runs it); writes under target/bench/");
lines.push("```");
lines.push("");
await writeFile(outFile, lines.join("\n"));

// The chart: one bar per ratio, a line at 1 (parity) and a tick at each target.
const W = 760;
const rowH = 26;
const left = 390;
const plotW = W - left - 60;
const charted = rows.filter((r) => Number.isFinite(r.ratio));
const maxRatio = Math.max(2, ...charted.map((r) => Math.min(r.ratio, 4)));
const x = (v) => left + (Math.min(v, maxRatio) / maxRatio) * plotW;
const H = 40 + charted.length * rowH + 30;
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="system-ui, sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="#fff"/>`,
  `<text x="10" y="20" font-size="14" font-weight="600">yew-convex / JavaScript (same run; left of the dashed line is better)${smoke ? " — SMOKE" : ""}</text>`,
];
charted.forEach((r, i) => {
  const y = 36 + i * rowH;
  const good = r.target == null ? r.ratio <= 1 : r.ratio <= r.target;
  svg.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${esc(r.figure.length > 60 ? `${r.figure.slice(0, 58)}…` : r.figure)}</text>`);
  svg.push(`<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(r.ratio) - left)}" height="${rowH - 10}" fill="${good ? "#16a34a" : "#dc2626"}"/>`);
  svg.push(`<text x="${x(r.ratio) + 4}" y="${y + 15}">${r.ratio.toFixed(2)}${r.ratio > maxRatio ? " ›" : ""}</text>`);
  if (r.target != null) svg.push(`<line x1="${x(r.target)}" x2="${x(r.target)}" y1="${y + 2}" y2="${y + rowH - 4}" stroke="#111" stroke-width="2"/>`);
});
const yEnd = 36 + charted.length * rowH;
svg.push(`<line x1="${x(1)}" x2="${x(1)}" y1="30" y2="${yEnd}" stroke="#555" stroke-dasharray="4 3"/>`);
svg.push(`<text x="${x(1)}" y="${yEnd + 16}" text-anchor="middle">1.0</text>`);
svg.push(`<text x="${left}" y="${yEnd + 16}" text-anchor="middle">0</text>`);
svg.push(`<text x="${W - 60}" y="${yEnd + 16}" text-anchor="middle">${maxRatio.toFixed(1)}</text>`);
svg.push(`<text x="10" y="${yEnd + 16}" fill="#555">black tick: target</text>`);
svg.push("</svg>");
await writeFile(svgFile, svg.join("\n"));
process.stderr.write(`[bench] wrote ${path.relative(process.cwd(), outFile)} and ${path.relative(process.cwd(), svgFile)}\n`);
