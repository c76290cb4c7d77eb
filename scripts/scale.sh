#!/usr/bin/env bash
# Issue 14's scale run (not part of the test suite): the sandbox portal and the release
# service as separate processes, real Chromium.
#   Phase 1: N live sessions (default 100) logged in a few at a time, held M minutes
#   (default 10) with a refresh every 60 s and a light warm-timeline load on a random 10%:
#   memory per session (MemAvailable drop and summed Chrome PSS), refreshes on time and
#   missed, restarts and drops, warm latency against a 10-session pass, service RSS, idle
#   CPU per session.
#   Phase 2: N2 sessions (default 1,000) with `sessions.hibernate_after` = 20 s, logged in
#   with at most a few dozen Chromes alive at once: service RSS, sessions by state,
#   refreshes over HTTP on time, 20 hibernating sessions woken by a business request (time
#   to serve, captcha tasks).
# Prints a Markdown table with the command, the date and each target's verdict; nothing
# fails on a missed target. The full size takes 40+ minutes; a quick proof of the machinery:
#   scripts/scale.sh --sessions 20 --minutes 2 --hibernate 100
# Options (all optional): --sessions N --minutes M --hibernate N2 (0 skips a phase)
#   --wave W (logins at once, 2) --max-live L (phase 2 Chromes at once, 30)
#   --hibernate-hold S (phase 2 hold once all hibernate, 130 s).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
echo "+ cargo build --release --bin emodal-api" >&2
cargo build --release --bin emodal-api
echo "+ cargo bench --bench scale -- $*" >&2
cargo bench --bench scale -- "$@"
echo
echo "command: scripts/scale.sh $* (runs: cargo bench --bench scale -- $*), $(date -u '+%Y-%m-%d %H:%M UTC')"
