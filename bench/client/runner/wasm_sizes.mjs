// What takes the room in a .wasm: code bytes per crate and the largest functions, read from the
// module's name section (so use cargo's output, before wasm-opt strips the names). Sizes are
// uncompressed code bytes; gzip shrinks them roughly evenly.
//
//   node runner/wasm_sizes.mjs FILE.wasm [BASELINE.wasm] [--top 30] [--split yew_convex] [--owners]
//
// With a baseline, only what FILE adds over BASELINE (by crate) is shown. `--split CRATE` (may
// repeat) counts that crate by its top-level module instead (`yew_convex::sync`, ...).
// `--owners` adds a table by "owner": the yew_convex item (or the page's own item) a function's
// name mentions, generic instances included (yew's component machinery for `UserButton` counts
// for `UserButton`). It needs names with generic arguments, i.e. a build with
// RUSTFLAGS="-C symbol-mangling-version=v0" (see README, "Where the bytes go").

import { readFileSync } from "node:fs";
import { basename } from "node:path";

function leb(bytes, at) {
  let result = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, at];
}

function analyse(file) {
  const bytes = readFileSync(file);
  let at = 8;
  let importedFunctions = 0;
  const bodies = [];
  const names = new Map();
  let dataBytes = 0;
  while (at < bytes.length) {
    const id = bytes[at++];
    let size;
    [size, at] = leb(bytes, at);
    const end = at + size;
    if (id === 2) {
      let count;
      let p;
      [count, p] = leb(bytes, at);
      for (let k = 0; k < count; k++) {
        let len;
        [len, p] = leb(bytes, p);
        p += len;
        [len, p] = leb(bytes, p);
        p += len;
        const kind = bytes[p++];
        if (kind === 0) {
          [, p] = leb(bytes, p);
          importedFunctions++;
        } else if (kind === 1) {
          p += 1;
          const flags = bytes[p++];
          [, p] = leb(bytes, p);
          if (flags & 1) [, p] = leb(bytes, p);
        } else if (kind === 2) {
          const flags = bytes[p++];
          [, p] = leb(bytes, p);
          if (flags & 1) [, p] = leb(bytes, p);
        } else if (kind === 3) {
          p += 2;
        } else if (kind === 4) {
          p += 1;
          [, p] = leb(bytes, p);
        }
      }
    } else if (id === 10) {
      let count;
      let p;
      [count, p] = leb(bytes, at);
      for (let k = 0; k < count; k++) {
        let len;
        [len, p] = leb(bytes, p);
        bodies.push(len);
        p += len;
      }
    } else if (id === 11) {
      dataBytes += size;
    } else if (id === 0) {
      let len;
      let p;
      [len, p] = leb(bytes, at);
      const name = bytes.subarray(p, p + len).toString("utf8");
      p += len;
      if (name === "name") {
        while (p < end) {
          const sub = bytes[p++];
          let subSize;
          [subSize, p] = leb(bytes, p);
          const subEnd = p + subSize;
          if (sub === 1) {
            let count;
            [count, p] = leb(bytes, p);
            for (let k = 0; k < count; k++) {
              let index;
              let nameLen;
              [index, p] = leb(bytes, p);
              [nameLen, p] = leb(bytes, p);
              names.set(index, bytes.subarray(p, p + nameLen).toString("utf8"));
              p += nameLen;
            }
          }
          p = subEnd;
        }
      }
    }
    at = end;
  }
  const functions = bodies.map((size, k) => {
    // The bench pages' own crates (`page_yew_client`, `page_yew_clerk`, ...) are all "page", so
    // that a page compared with another shows only what differs.
    const name = (names.get(importedFunctions + k) || `func${importedFunctions + k}`).replace(
      /\b(?:page_[a-z_]+|demo)(?:\[[0-9a-f]+\])?(?=::)/g,
      "page",
    );
    return { name, size, crate: crateOf(name) };
  });
  return { functions, dataBytes, total: bytes.length };
}

const SPLIT = new Set();
const OWNERS = { on: false };

const PRIMITIVE = /^(?:&(?:mut )?)?(?:[A-Z]|bool|char|str|u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize|f32|f64|\(|\[|dyn )/;

function crateOf(name) {
  // wasm-bindgen demangles names; drop the crate disambiguators (`core[c5930c85a12de822]`).
  const clean = name.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]+\]/g, "");
  // `<T as Trait>::f`: the implementing type's crate, or the trait's for primitives and
  // generic parameters; else the path's first segment.
  const impl = /^<(.+?) as ([A-Za-z_][A-Za-z0-9_]*)/.exec(clean);
  let path = clean;
  if (impl) path = PRIMITIVE.test(impl[1]) ? impl[2] : impl[1];
  else if (clean.startsWith("<")) path = clean.slice(1);
  path = path.replace(/^&(mut )?/, "");
  const m = /^([a-z_][a-z0-9_]*)::/.exec(path);
  if (m && SPLIT.has(m[1])) {
    const sub = /^[a-z_][a-z0-9_]*::([a-z_][a-z0-9_]*)::/.exec(path);
    return sub ? `${m[1]}::${sub[1]}` : m[1];
  }
  if (m) return m[1];
  if (/^<?(?:char|str|u8|u16|u32|u64|usize|i32|i64|f64)>?::/.test(clean)) return "core";
  if (/^(__rust|__rdl|__rg_|rust_)/.test(clean)) return "alloc (runtime)";
  if (/^__wbindgen|^__wbg|^__externref|^start$/.test(clean)) return "wasm_bindgen (generated)";
  if (/^(memcpy|memmove|memset|memcmp|bcmp)$/.test(clean)) return "compiler_builtins";
  return "other";
}

function byCrate(a) {
  const out = new Map();
  for (const f of a.functions) out.set(f.crate, (out.get(f.crate) || 0) + f.size);
  return out;
}

const args = process.argv.slice(2);
const topAt = args.indexOf("--top");
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
const valueOf = new Set();
args.forEach((a, k) => {
  if (a === "--top" || a === "--split") valueOf.add(k + 1);
  if (a === "--owners") OWNERS.on = true;
  if (a === "--split") SPLIT.add(args[k + 1]);
});
const files = args.filter((a, k) => !a.startsWith("--") && !valueOf.has(k));
const [file, baselineFile] = files;
const a = analyse(file);
const crates = byCrate(a);
const baseline = baselineFile ? analyse(baselineFile) : null;
const base = baseline ? byCrate(baseline) : new Map();
const baseNames = new Set(baseline ? baseline.functions.map((f) => f.name.replace(/::h[0-9a-f]{16}$/, "")) : []);
const codeTotal = a.functions.reduce((s, f) => s + f.size, 0);
console.log(
  `${basename(file)}: ${a.total} bytes (code ${codeTotal}, data ${a.dataBytes}, ${a.functions.length} functions)`,
);
if (baseline) {
  const baseTotal = baseline.functions.reduce((s, f) => s + f.size, 0);
  const d = codeTotal - baseTotal;
  console.log(`over ${basename(baselineFile)}: code ${d >= 0 ? "+" : ""}${d} bytes, ${a.functions.length - baseline.functions.length >= 0 ? "+" : ""}${a.functions.length - baseline.functions.length} functions`);
  for (const crate of base.keys()) if (!crates.has(crate)) crates.set(crate, 0);
}
console.log("");
console.log(`| crate | code bytes${baselineFile ? " | over baseline" : ""} |`);
console.log(`| --- | ---:${baselineFile ? " | ---:" : ""} |`);
for (const [crate, size] of [...crates.entries()].sort((x, y) => y[1] - x[1])) {
  const delta = size - (base.get(crate) || 0);
  if (size < 200 && !baselineFile) continue;
  if (baselineFile && Math.abs(delta) < 200) continue;
  console.log(`| ${crate} | ${size}${baselineFile ? ` | ${delta > 0 ? "+" : ""}${delta}` : ""} |`);
}
console.log("");
console.log(`| largest functions${baseline ? " not in the baseline" : ""} | bytes |`);
console.log("| --- | ---: |");
const fresh = a.functions.filter((f) => !baseNames.has(f.name.replace(/::h[0-9a-f]{16}$/, "")));
for (const f of fresh.sort((x, y) => y.size - x.size).slice(0, top)) {
  const shown = f.name.replace(/::h[0-9a-f]{16}$/, "");
  console.log(`| \`${(shown.length > 120 ? shown.slice(0, 117) + "..." : shown).replace(/\|/g, "\\|")}\` | ${f.size} |`);
}

if (baseline) {
  // Generic code: the same (demangled, hash-stripped) name instantiated more often than in the
  // baseline, e.g. yew's component machinery once per component type.
  const group = (fs) => {
    const m = new Map();
    for (const f of fs) {
      const n = f.name.replace(/::h[0-9a-f]{16}$/, "").replace(/\.\d+$/, "");
      const g = m.get(n) || { copies: 0, bytes: 0 };
      g.copies++;
      g.bytes += f.size;
      m.set(n, g);
    }
    return m;
  };
  const ga = group(a.functions);
  const gb = group(baseline.functions);
  const more = [...ga.entries()]
    .filter(([n]) => gb.has(n))
    .map(([n, g]) => ({ n, copies: g.copies, was: gb.get(n).copies, delta: g.bytes - gb.get(n).bytes }))
    .filter((g) => g.copies > g.was && g.delta > 0)
    .sort((x, y) => y.delta - x.delta);
  console.log("");
  console.log(`| more copies of functions the baseline has (generic code; ${more.reduce((s, g) => s + g.delta, 0)} bytes in all) | copies | bytes |`);
  console.log("| --- | ---: | ---: |");
  for (const g of more.slice(0, top)) {
    const shown = g.n.length > 120 ? g.n.slice(0, 117) + "..." : g.n;
    console.log(`| \`${shown.replace(/\|/g, "\\|")}\` | ${g.was} → ${g.copies} | +${g.delta} |`);
  }
}

// The yew_convex (or page) item a function belongs to: the first `yew_convex::clerk::…` /
// `yew_convex::hooks::…` path its name mentions, else the page's own item, else the first
// yew_convex path, else its crate.
function ownerOf(name) {
  const clean = name.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]+\]/g, "");
  const all = [...clean.matchAll(/\b(yew_convex|page)((?:::[A-Za-z_][A-Za-z0-9_]*)+)/g)];
  const m =
    all.find((x) => /^::(clerk|hooks)::/.test(x[2]) && !/::ChildrenProps$/.test(x[2])) ||
    all.find((x) => x[1] === "page" && !/^::(Item|ItemArgs|Route)$/.test(x[2])) ||
    all[0];
  if (!m) return `(${crateOf(name)})`;
  return [m[1], ...m[2].split("::").filter(Boolean)].slice(0, 4).join("::");
}

if (OWNERS.on) {
  const group = (fs) => {
    const g = new Map();
    for (const f of fs) g.set(ownerOf(f.name), (g.get(ownerOf(f.name)) || 0) + f.size);
    return g;
  };
  const ga = group(a.functions);
  const gb = baseline ? group(baseline.functions) : new Map();
  const rows = [...new Set([...ga.keys(), ...gb.keys()])]
    .map((k) => [k, ga.get(k) || 0, (ga.get(k) || 0) - (gb.get(k) || 0)])
    .filter((r) => Math.abs(baseline ? r[2] : r[1]) >= 150)
    .sort((x, y) => (baseline ? y[2] - x[2] : y[1] - x[1]));
  console.log("");
  console.log(`| owner (generic instances included) | code bytes${baseline ? " | over baseline" : ""} |`);
  console.log(`| --- | ---:${baseline ? " | ---:" : ""} |`);
  for (const [k, size, delta] of rows.slice(0, Math.max(top, 40))) {
    console.log(`| ${k} | ${size}${baseline ? ` | ${delta > 0 ? "+" : ""}${delta}` : ""} |`);
  }
}
