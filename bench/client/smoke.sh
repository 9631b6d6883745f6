#!/usr/bin/env bash
# A quick end-to-end check of the browser benchmark (CI calls it): tiny N, unoptimised quick
# builds, both clients in headless Chromium, every table printed. Its figures mean nothing.
set -euo pipefail
exec "$(dirname "$0")/run.sh" --smoke "$@"
