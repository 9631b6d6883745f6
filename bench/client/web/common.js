// The in-page benchmark driver, shared by both pages. A page supplies an adapter:
//   { name, setup(), subscribe(first, n), callbacks(), rustHeapBytes?() }
// and gets `window.bench` with the scenarios; the node runner (runner/run.mjs) calls them, one
// fresh page per scenario and client.

import { FakeServer } from "./fake_server.js";
import { chainedTransitions, fingerprint, transitionText } from "./workload.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

function gc() {
  if (typeof globalThis.gc === "function") {
    globalThis.gc();
    globalThis.gc();
  }
}

/** Waits until `predicate()` holds, polling on timer turns. */
async function until(predicate, what, limitMs = 60000) {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await tick();
  }
}

/** Which queries the k-th Transition of a run updates. */
function picker(n, updates) {
  if (updates === "all") {
    const all = Array.from({ length: n }, (_, q) => q);
    return () => all;
  }
  // One query per Transition, spread over all of them (389 is prime, so n >= 2 cycles fully).
  let cursor = 0;
  return () => [(cursor++ * 389) % n];
}

/** A client with `n` subscriptions that has received every first value. */
async function subscribed(adapter, n) {
  const server = new FakeServer();
  server.install();
  adapter.setup();
  adapter.subscribe(0, n);
  await server.opened();
  await until(() => server.sentInitial === n && adapter.callbacks() >= n, `${n} first values`);
  await tick();
  return server;
}

/**
 * Times `rounds` rounds of `perRound` chained Transitions, each updating `updates` ("all" or
 * "one") of the `n` queries, after `warmup` rounds. The time of a round runs from handing the
 * first text to `onmessage` until the last text's callbacks have run (every callback runs
 * synchronously inside `onmessage`; the count is checked after each round).
 */
async function transitions(adapter, { n, updates, perRound, rounds, warmup, profile }) {
  const server = await subscribed(adapter, n);
  const pick = picker(n, updates);
  const perMessage = updates === "all" ? n : 1;
  let version = server.version;
  let rev = 1;
  const times = [];
  const parseTimes = [];
  const prints = [];
  for (let r = 0; r < warmup + rounds; r++) {
    const run = chainedTransitions(version, perRound, rev, pick);
    version = run.version;
    rev += perRound;
    prints.push(fingerprint(run.texts));
    gc();
    const before = adapter.callbacks();
    // With DevTools' profiler on (runner --cpuprofile), only the timed part is recorded.
    if (profile && r >= warmup) console.profile("deliver");
    const t0 = performance.now();
    for (const text of run.texts) server.deliver(text);
    const t1 = performance.now();
    if (profile && r >= warmup) console.profileEnd("deliver");
    const ran = adapter.callbacks() - before;
    if (ran !== perRound * perMessage) {
      throw new Error(`round ${r}: ${ran} callbacks ran, expected ${perRound * perMessage}`);
    }
    // The browser's JSON.parse alone on the same texts (what the JS client starts with).
    const p0 = performance.now();
    for (const text of run.texts) JSON.parse(text);
    const p1 = performance.now();
    if (r >= warmup) {
      times.push((t1 - t0) / perRound);
      parseTimes.push((p1 - p0) / perRound);
    }
  }
  server.version = version;
  await tick();
  return {
    client: adapter.name,
    perMessageMs: stats(times),
    jsonParseMs: stats(parseTimes),
    textBytes: transitionText(
      { querySet: 1, identity: 0, ts: 1 },
      { querySet: 1, identity: 0, ts: 2 },
      pick(0).map((q) => ({ queryId: q, i: q, rev: 1 })),
    ).length,
    fingerprint: fingerprint(prints),
    clientMessages: server.received,
  };
}

/**
 * Heap per subscription: the JS heap (and, for ours, the Rust heap) after `n` subscriptions
 * have their first 1 KB values, minus the same with the client connected and no subscription;
 * both after a full GC.
 */
async function heap(adapter, { n }) {
  const server = new FakeServer();
  server.install();
  adapter.setup();
  await server.opened();
  for (let k = 0; k < 5; k++) await tick();
  gc();
  const js0 = performance.memory ? performance.memory.usedJSHeapSize : NaN;
  const rust0 = adapter.rustHeapBytes ? adapter.rustHeapBytes() : 0;
  const blocks0 = adapter.rustHeapBlocks ? adapter.rustHeapBlocks() : 0;
  adapter.subscribe(0, n);
  // The subscriptions alone: each client's ModifyQuerySet has gone out (ours batches it on a
  // microtask), the server's answer waits for a timer turn.
  for (let k = 0; k < 5; k++) await Promise.resolve();
  if (server.sentInitial !== 0) throw new Error("values arrived before the midpoint");
  gc();
  const jsMid = performance.memory ? performance.memory.usedJSHeapSize : NaN;
  const rustMid = adapter.rustHeapBytes ? adapter.rustHeapBytes() : 0;
  await until(() => server.sentInitial === n && adapter.callbacks() >= n, `${n} first values`);
  for (let k = 0; k < 5; k++) await tick();
  gc();
  const js1 = performance.memory ? performance.memory.usedJSHeapSize : NaN;
  const rust1 = adapter.rustHeapBytes ? adapter.rustHeapBytes() : 0;
  const blocks1 = adapter.rustHeapBlocks ? adapter.rustHeapBlocks() : 0;
  return {
    client: adapter.name,
    n,
    jsHeapPerSub: (js1 - js0) / n,
    rustHeapPerSub: (rust1 - rust0) / n,
    rustBlocksPerSub: (blocks1 - blocks0) / n,
    totalPerSub: (js1 - js0 + rust1 - rust0) / n,
    subscriptionPerSub: (jsMid - js0 + rustMid - rust0) / n,
    valuePerSub: (js1 - jsMid + rust1 - rustMid) / n,
    preciseMemory: !!performance.memory && typeof globalThis.gc === "function",
    clientMessages: server.received,
  };
}

/** Installs `window.bench` for `adapter`; `extra` adds page-specific scenarios. */
export function installBench(adapter, extra = {}) {
  window.bench = {
    name: adapter.name,
    transitions: (options) => transitions(adapter, options),
    heap: (options) => heap(adapter, options),
    ...extra,
  };
  window.benchReady = true;
}

export { chainedTransitions, fingerprint, picker, stats, gc, tick, until };
