#!/usr/bin/env bash
# Log in to the sandbox portal with headless Chromium and write a PNG of every page
# (login, home, containers with a row expanded, each wizard step, confirmation, my appointments)
# under target/sandbox-screenshots/, so a person can check that it looks like a portal.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    echo "Chromium is missing: install it (e.g. apt-get install -y chromium) and retry." >&2
    exit 1
fi

cargo test --test sandbox_screenshots -- --ignored --nocapture
out="${CARGO_TARGET_DIR:-target}/sandbox-screenshots"
echo "Screenshots:"
ls -1 "$out"/*.png
