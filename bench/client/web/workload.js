// The benchmark's workload: ~1 KB values for `bench:item {i}` and the Transition texts that
// update them. Both clients receive exactly these texts (engine-bench/src/workload.rs writes the
// same bytes natively).

const LOREM =
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut " +
  "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco " +
  "laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in " +
  "voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat " +
  "non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. ";
const BODY = (LOREM + LOREM + LOREM).slice(0, 813);

/**
 * The value of `bench:item {i}` at revision `rev`: 1,024 bytes of JSON for i = 500. Its keys are
 * in ascending order, as a Convex backend (and the devserver) writes every object: a document is
 * a sorted map there.
 */
export function itemValue(i, rev) {
  return {
    _creationTime: 1764000000000 + i,
    _id: "j57" + String(i).padStart(29, "0"),
    author: `user_${i % 97}`,
    body: BODY,
    done: rev % 2 === 1,
    i,
    rev,
    score: i * 1.25,
    tags: ["alpha", "beta", "gamma", "delta"],
    title: `Item ${i} revision ${rev}`,
  };
}

/** A protocol timestamp: standard base64 of the u64's 8 little-endian bytes. */
export function encodeTs(ts) {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(ts), true);
  return btoa(String.fromCharCode(...bytes));
}

/** `{querySet, identity, ts}` with a numeric ts, as the wire wants it. */
export function wireVersion(v) {
  return { querySet: v.querySet, identity: v.identity, ts: encodeTs(v.ts) };
}

/** The text of a Transition from `start` to `end` setting `queryId -> itemValue(i, rev)`. */
export function transitionText(start, end, updates) {
  return JSON.stringify({
    type: "Transition",
    startVersion: wireVersion(start),
    endVersion: wireVersion(end),
    modifications: updates.map(({ queryId, i, rev }) => ({
      type: "QueryUpdated",
      queryId,
      value: itemValue(i, rev),
      logLines: [],
      journal: null,
    })),
  });
}

/**
 * The texts for one benchmark: `count` Transitions chained from `version` (start of each = end
 * of the previous; ts + 1 each). `pick(k)` lists the query ids the k-th one updates; query id q
 * holds `bench:item {i: q}` (both clients number their queries 0, 1, ... in subscription order).
 * Returns the texts and the version after the last.
 */
export function chainedTransitions(version, count, firstRev, pick) {
  const texts = [];
  let start = version;
  for (let k = 0; k < count; k++) {
    const end = { querySet: start.querySet, identity: start.identity, ts: start.ts + 1 };
    const rev = firstRev + k;
    texts.push(transitionText(start, end, pick(k).map((q) => ({ queryId: q, i: q, rev }))));
    start = end;
  }
  return { texts, version: start };
}

/** FNV-1a of the texts, to show both clients were fed the same bytes. */
export function fingerprint(texts) {
  let h = 0x811c9dc5;
  for (const t of texts) {
    for (let j = 0; j < t.length; j++) {
      h ^= t.charCodeAt(j);
      h = Math.imul(h, 0x01000193);
    }
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
