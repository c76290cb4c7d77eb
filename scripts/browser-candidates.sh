#!/usr/bin/env bash
# Which Chromium, with which flags, should carry the sessions: memory per logged-in session,
# process count, cold login, warm timeline and a long run of operations for each candidate
# (benches/service/browsers.rs), printed as a Markdown table.
#   BROWSERS_SECONDS=150  length of each candidate's run of operations
#   BROWSERS_ONLY=shell   only the candidates whose name contains one of these words (comma list)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
exec cargo bench --bench service -- browsers
