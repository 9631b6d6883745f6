#!/usr/bin/env bash
# Builds the JavaScript twin of the demo into bench/twin/dist/:
#   index.html     the app (React + convex/react + Clerk + TanStack Query/Router)
#   mutation.html  the mutation fan-out benchmark page (a separate build: shares no chunk)
# then prints the app's transfer size (sizes.mjs). Installs from package-lock.json first when
# node_modules is missing or older than the lock (offline once npm's cache has the packages).
#
# Build-time settings (optional): VITE_CONVEX_URL (default http://127.0.0.1:3210),
# VITE_CLERK_PUBLISHABLE_KEY, VITE_CLERK_PROXY_URL (default /__clerk; empty for none).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --prefer-offline
fi
npx vite build --logLevel warn
npx vite build --mode bench --logLevel warn
node sizes.mjs dist
