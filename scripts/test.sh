#!/usr/bin/env bash
# Run every test: unit tests and the integration tests that drive real Chromium against
# the sandbox portal. Installs Chromium and nats-server (cluster tests) first when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
scripts/install-nats.sh
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
  # The driver again, against the other Angular Material generation the sandbox can play
  # (today's MDC markup; the run above used the recorded legacy markup). Supervision tests
  # (sessions, restore, persistence) do not depend on the markup and run once.
  EMODAL_TEST_GENERATION=mdc cargo nextest run --no-fail-fast \
    --test containers --test appointments --test driver_appointments --test driver_page \
    --test check_profile --test driver_persist "$@"
  # The browser tests again on full Chromium, the documented alternative to the default
  # headless shell (tests/support honours EMODAL__CHROME__PATH).
  EMODAL__CHROME__PATH=/usr/bin/chromium cargo nextest run --no-fail-fast \
    --test browser_footprint --test driver_page --test driver_appointments \
    --test containers --test appointments "$@"
  # nextest does not run doctests.
  cargo test --doc --quiet
else
  cargo test --no-fail-fast "$@"
fi
# /openapi.json is valid OpenAPI and the server answers as it says (schemathesis); a small
# example count keeps this under a minute once its venv (under target/) exists.
MAX_EXAMPLES="${FUZZ_EXAMPLES:-20}" scripts/fuzz.sh
# Nothing a test started may outlive the suite.
if pgrep -f -- '--user-data-dir=.*/(data|profiles)/' >/dev/null 2>&1; then
  echo "Chrome processes left behind by the tests:" >&2
  pgrep -af -- '--user-data-dir=' >&2 || true
  exit 1
fi
