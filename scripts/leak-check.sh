#!/usr/bin/env bash
# The long leak check: many waves of create, use, crash, delete, expire against the sandbox.
# Fails loudly if any wave leaves a session, browser thread, Chrome process, profile or
# scratch directory, or if the service's RSS grows by 2 MB or more per wave after warm-up.
#   WAVES=8 scripts/leak-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
LEAK_WAVES="${WAVES:-8}" LEAK_MAX_RSS_GROWTH_KB=2048 \
  cargo test --test leak -- --nocapture --test-threads=1
