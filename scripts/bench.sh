#!/usr/bin/env bash
# Benchmark the service against the sandbox portal with real Chromium (issues 3 and 4):
# cold/warm get_session, /health under load, memory and idle CPU with 20 sessions, warm and
# cold container calls, the supervisor's overhead over direct driver calls, and warm vs
# cold with a realistic captcha delay; and issue 12's rows: a killed Chrome back to serving
# from its snapshot, a service restart with 10 persistent sessions, cold get_session with and
# without a spare Chrome (these run the sandbox portal and `serve --sandbox-url` as separate
# processes; `scripts/bench.sh persistence` runs only them, in about 2 minutes); and issue
# 13's: `/metrics` scrape time with 50 live sessions, and what the request log and request
# metrics cost on warm get_session (`log.requests` on vs off); `scripts/bench.sh
# observability` runs only those, in about 5 minutes. Prints a
# Markdown table with each target and whether this run met it. Not a test: nothing fails on a
# missed target.
#
# The API runs as a child process (the release binary, `emodal-api --config <generated> sandbox`)
# so that its RSS and its Chrome process tree can be measured. Takes about 17 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
echo "+ cargo build --release --bin emodal-api" >&2
cargo build --release --bin emodal-api
echo "+ cargo bench --bench service" >&2
cargo bench --bench service "$@"
echo
echo "command: scripts/bench.sh (runs: cargo bench --bench service)"
