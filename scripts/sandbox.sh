#!/usr/bin/env bash
# Start the API (port 5010) and the sandbox portal (port 5011) in one process, so every
# endpoint can be tried without an E-Modal account. Installs Chromium when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
cargo build --bin emodal-api
exec target/debug/emodal-api sandbox "$@"
