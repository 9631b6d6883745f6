// What takes the room in a .wasm: code bytes per crate and the largest functions, read from the
// module's name section (so use cargo's output, before wasm-opt strips the names). Sizes are
// uncompressed code bytes; gzip shrinks them roughly evenly.
//
//   node runner/wasm_sizes.mjs FILE.wasm [BASELINE.wasm] [--top 30] [--split yew_convex]
//
// With a baseline, only what FILE adds over BASELINE (by crate) is shown. `--split CRATE` (may
// repeat) counts that crate by its top-level module instead (`yew_convex::sync`, ...).

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
    const name = names.get(importedFunctions + k) || `func${importedFunctions + k}`;
    return { name, size, crate: crateOf(name) };
  });
  return { functions, dataBytes, total: bytes.length };
}

const SPLIT = new Set();

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
