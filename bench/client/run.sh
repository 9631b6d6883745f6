#!/usr/bin/env bash
# The browser benchmark of yew-convex's ConvexClient against the official JavaScript client
# (npm `convex`, pinned in package.json), both in one headless Chromium run, plus bundle sizes.
#
#   bench/client/run.sh              full run (a few minutes; release builds)
#   bench/client/run.sh --smoke      tiny N and quick builds: checks the whole pipeline works
#   bench/client/run.sh --no-oz      skip the opt-level "z" build of the harness
#   bench/client/run.sh --json FILE  also write every figure as JSON
#   bench/client/run.sh --cpuprofile also record CPU profiles of A and B (self time by function)
#
# Needs: cargo with the wasm32-unknown-unknown target, wasm-bindgen-cli at the harness's exact
# wasm-bindgen version, node + npm, Chromium at /usr/bin/chromium (or $CHROMIUM). npm packages
# (convex, esbuild, playwright-core, binaryen for wasm-opt) install locally with `npm ci`.
# Builds share the main target directory ($CARGO_TARGET_DIR, default <repo>/target).
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
ROOT=$(cd ../.. && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

SMOKE=0
OZ=1
PROFILE=0
JSON=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --no-oz) OZ=0 ;;
    --json) JSON="$2"; shift ;;
    --cpuprofile) PROFILE=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

# ----- tools -----
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci (pinned: $(node -p 'Object.entries(require("./package.json").devDependencies).map(([k,v])=>k+"@"+v).join(" ")'))"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
# A native wasm-opt 132 if there is one (faster), else binaryen's from npm (same version).
WASM_OPT="$HERE/node_modules/.bin/wasm-opt"
for p in $(type -ap wasm-opt); do
  if "$p" --version 2>/dev/null | grep -q "version 132"; then WASM_OPT="$p"; break; fi
done
export PATH="$HERE/node_modules/.bin:$PATH"
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' rust/Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  echo "wasm-bindgen-cli $WASM_BINDGEN_VERSION is required (scripts/setup installs it)" >&2
  exit 1
fi
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
  rustup target add wasm32-unknown-unknown >&2
WASM_OPT_FLAGS=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-reference-types --enable-multivalue --enable-mutable-globals)

if [ "$SMOKE" = 1 ]; then
  SPEED_PROFILE=bench-smoke; SIZE_PROFILE=bench-smoke; SPEED_OPT=""; SIZE_OPT=""; OZ=0
else
  SPEED_PROFILE=bench-speed; SIZE_PROFILE=bench-size; SPEED_OPT="-O3"; SIZE_OPT="-Oz"
fi

DIST="$HERE/dist"
rm -rf "$DIST"
mkdir -p "$DIST"

# build_wasm CRATE PROFILE OUT_DIR [WASM_OPT_LEVEL]: cargo, wasm-bindgen --target web, wasm-opt.
build_wasm() {
  local crate=$1 profile=$2 out=$3 opt=${4:-}
  log "cargo build -p $crate --profile $profile (wasm32)"
  cargo build --quiet --manifest-path rust/Cargo.toml --target wasm32-unknown-unknown \
    --profile "$profile" -p "$crate" >&2
  wasm-bindgen --target web --out-dir "$out" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/${crate//-/_}.wasm"
  if [ -n "$opt" ]; then
    local wasm="$out/${crate//-/_}_bg.wasm"
    "$WASM_OPT" "$opt" "${WASM_OPT_FLAGS[@]}" "$wasm" -o "$wasm"
  fi
}

gz() { gzip -9 -c "$1" | wc -c | tr -d ' '; }

# ----- the benchmark pages -----
WEB=(common.js fake_server.js workload.js)
# ours: the harness wasm + the shared driver, served as plain ES modules.
page_ours() {
  local name=$1 profile=$2 opt=$3
  mkdir -p "$DIST/$name"
  build_wasm bench-harness "$profile" "$DIST/$name/pkg" "$opt"
  for f in "${WEB[@]}" ours_bench.js; do cp "web/$f" "$DIST/$name/"; done
  printf '<!doctype html><meta charset="utf-8"><title>%s</title><script type="module" src="ours_bench.js"></script>\n' "$name" >"$DIST/$name/index.html"
}
page_ours ours "$SPEED_PROFILE" "$SPEED_OPT"
# The same build with every callback decoding its item (what a component reading it pays).
cp -r "$DIST/ours" "$DIST/ours-typed"
printf '<!doctype html><meta charset="utf-8"><title>ours-typed</title><script type="module" src="ours_bench.js?typed"></script>\n' >"$DIST/ours-typed/index.html"
[ "$OZ" = 1 ] && page_ours ours-oz bench-size -Oz
if [ "$PROFILE" = 1 ]; then
  # The speed build without wasm-opt, which would strip the function names the profile shows.
  page_ours ours-prof "$SPEED_PROFILE" ""
fi

# js: the official client + the same driver, bundled by esbuild.
log "esbuild: the convex-js page"
mkdir -p "$DIST/js"
esbuild web/js_bench.js --bundle --minify-syntax --minify-whitespace --format=esm --target=es2022 --log-level=warning \
  --outfile="$DIST/js/bench.js"
printf '<!doctype html><meta charset="utf-8"><title>js</title><script type="module" src="bench.js"></script>\n' >"$DIST/js/index.html"

# ----- bundle sizes -----
SIZES="$DIST/size"
mkdir -p "$SIZES"
size_json=()
size_of() { # KEY CRATE
  local key=$1 crate=$2
  build_wasm "$crate" "$SIZE_PROFILE" "$SIZES/$crate" "$SIZE_OPT"
  local wasm js
  wasm=$(gz "$SIZES/$crate/${crate//-/_}_bg.wasm")
  js=$(gz "$SIZES/$crate/${crate//-/_}.js")
  size_json+=("\"$key\": {\"wasm\": $wasm, \"js\": $js, \"total\": $((wasm + js))}")
  # A copy with its function names (wasm-opt strips them), for runner/wasm_sizes.mjs.
  wasm-bindgen --target web --out-dir "$SIZES/names/$crate" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$SIZE_PROFILE/${crate//-/_}.wasm"
}
size_of plain page-plain
size_of client page-client
size_of yew page-yew
size_of yewClient page-yew-client
size_of yewHooks page-yew-hooks
size_of yewClerk page-yew-clerk
log "esbuild: the convex-js size pages"
for entry in js_bundle_entry js_bundle_plain; do
  esbuild "web/$entry.js" --bundle --minify --format=esm --target=es2022 --log-level=warning \
    --outfile="$SIZES/$entry.js"
done
jsc=$(gz "$SIZES/js_bundle_entry.js")
jsp=$(gz "$SIZES/js_bundle_plain.js")
size_json+=("\"jsClient\": {\"js\": $jsc, \"total\": $jsc}" "\"jsPlain\": {\"js\": $jsp, \"total\": $jsp}")
convex_version=$(node -p 'require("./node_modules/convex/package.json").version')
wasm_opt_desc=$([ -n "$SIZE_OPT" ] && echo "$SIZE_OPT, $("$WASM_OPT" --version | awk '{print $3}')" || echo "skipped")
{
  printf '{"profile": "%s", "wasmOpt": "%s", "convexVersion": "%s",\n' "$SIZE_PROFILE" "$wasm_opt_desc" "$convex_version"
  (IFS=,; printf '%s\n' "${size_json[*]}")
  printf '}\n'
} >"$DIST/sizes.json"

# ----- run -----
variants=ours,ours-typed
[ "$OZ" = 1 ] && variants=ours,ours-typed,ours-oz
log "headless Chromium: $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null || echo '?')"
runner_args=(--dist "$DIST" --variants "$variants")
[ "$SMOKE" = 1 ] && runner_args+=(--smoke)
[ -n "$JSON" ] && runner_args+=(--json "$JSON")
[ "$PROFILE" = 1 ] && runner_args+=(--cpuprofile)
echo
echo "yew-convex $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet -- src 2>/dev/null || echo ' (src/ modified)'), convex-js $convex_version"
node runner/run.mjs "${runner_args[@]}"

echo
echo "### What the client adds to the yew + yew-router app (code bytes by crate, before wasm-opt)"
echo
node runner/wasm_sizes.mjs "$SIZES/names/page-yew-client/page_yew_client_bg.wasm" \
  "$SIZES/names/page-yew/page_yew_bg.wasm" --top 12 --split yew_convex

echo
echo "### What the Yew and Clerk layers add over the client core (code bytes by crate, before wasm-opt)"
echo
node runner/wasm_sizes.mjs "$SIZES/names/page-yew-clerk/page_yew_clerk_bg.wasm" \
  "$SIZES/names/page-yew-client/page_yew_client_bg.wasm" --top 12 --split yew_convex
