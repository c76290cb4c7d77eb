#!/usr/bin/env bash
# Log in to the sandbox portal with headless Chromium and write a PNG of every page (login,
# identity prompt, Welcome, containers with a row expanded and its timeline, the wizard, my
# appointments) for each Material generation, under target/sandbox-screenshots/{legacy,mdc}/,
# so a person can hold them next to ../shared/reference/real/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    echo "Chromium is missing: install it (e.g. apt-get install -y chromium) and retry." >&2
    exit 1
fi

cargo test --test sandbox_screenshots -- --ignored --nocapture
out="${CARGO_TARGET_DIR:-target}/sandbox-screenshots"
for generation in legacy mdc; do
    echo "Screenshots ($generation):"
    ls -1 "$out/$generation"/*.png
done
