// yew-convex's benchmark page: the harness wasm (rust/harness) loaded as an ES module.
import init, * as h from "./pkg/bench_harness.js";
import {
  chainedTransitions,
  gc,
  installBench,
  picker,
  stats,
} from "./common.js";
import { FIRST_TS } from "./fake_server.js";
import { transitionText } from "./workload.js";

await init();

// `?typed`: every callback decodes its value into the item's struct, as a component would.
const typed = new URL(import.meta.url).searchParams.has("typed");

const adapter = {
  name: "yew-convex",
  setup: () => h.client_setup("http://127.0.0.1:3210"),
  subscribe: (first, n) => (typed ? h.client_subscribe_typed(first, n) : h.client_subscribe(first, n)),
  callbacks: () => h.callbacks(),
  rustHeapBytes: () => h.rust_heap_bytes(),
  rustHeapBlocks: () => h.rust_heap_blocks(),
};

/**
 * The engine alone (no client, no callbacks' Rc/RefCell layer) under both JSON routes, plus
 * their parts: the text's copy into wasm, parsing alone by each route, and JSON.parse alone.
 * A third route prototypes a faster copy: the text written into wasm memory by the browser's
 * `TextEncoder.encodeInto` instead of wasm-bindgen's `charCodeAt` loop, then `handle_text`.
 * Rounds rotate the routes on one engine (the version chain continues across them).
 */
async function routes({ n, updates, perRound, rounds, warmup }) {
  h.engine_setup(n);
  const first = transitionText(
    { querySet: 0, identity: 0, ts: 0 },
    { querySet: 1, identity: 0, ts: FIRST_TS },
    Array.from({ length: n }, (_, q) => ({ queryId: q, i: q, rev: 0 })),
  );
  if (h.engine_text(first) !== n) throw new Error("engine: first Transition not applied");
  const pick = picker(n, updates);
  const perMessage = updates === "all" ? n : 1;
  let version = { querySet: 1, identity: 0, ts: FIRST_TS };
  let rev = 1;
  const t = {
    text: [],
    encodeInto: [],
    copyOnly: [],
    copyEncodeInto: [],
    parseText: [],
    parseEncodeInto: [],
    jsonParse: [],
  };
  const time = (key, texts, f, check) => {
    gc();
    const t0 = performance.now();
    for (const text of texts) {
      const out = f(text);
      if (check && out !== perMessage) throw new Error(`${key}: ${out} queries changed`);
    }
    const t1 = performance.now();
    return (t1 - t0) / texts.length;
  };
  for (let r = 0; r < warmup + rounds; r++) {
    const sample = {};
    const order = ["text", "encodeInto"];
    for (let j = 0; j < order.length; j++) {
      const route = order[(j + r) % order.length];
      const run = chainedTransitions(version, perRound, rev, pick);
      version = run.version;
      rev += perRound;
      const apply = {
        text: (s) => h.engine_text(s),
        encodeInto: (s) => h.engine_text_encode_into(s),
      }[route];
      sample[route] = time(route, run.texts, apply, true);
      if (route === "text") {
        sample.copyOnly = time("copyOnly", run.texts, (s) => h.text_len(s));
        sample.copyEncodeInto = time("copyEncodeInto", run.texts, (s) => h.text_len_encode_into(s));
        sample.parseText = time("parseText", run.texts, (s) => h.parse_text_only(s));
        sample.parseEncodeInto = time("parseEncodeInto", run.texts, (s) => h.parse_encode_into_only(s));
        sample.jsonParse = time("jsonParse", run.texts, (s) => JSON.parse(s));
      }
    }
    if (r >= warmup) for (const k of Object.keys(t)) t[k].push(sample[k]);
  }
  h.engine_teardown();
  const out = {};
  for (const [k, v] of Object.entries(t)) out[k] = stats(v);
  return out;
}

installBench(adapter, { routes });
