#!/usr/bin/env bash
# Fuzz the API with schemathesis (from PyPI) against a sandbox-backed server built from this
# checkout: /openapi.json must be a valid OpenAPI document (openapi-spec-validator), every
# response must match it, none may be a 5xx, and the server must still be healthy afterwards
# and exit cleanly (code 0, no Chrome left) on SIGTERM.
#   MAX_EXAMPLES=25 scripts/fuzz.sh          (scripts/test.sh runs it with a small count)
#   PHASES=examples,coverage,fuzzing,stateful scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
# Hypothesis (inside schemathesis) trips a CPython 3.11 bug now and then ("SystemError: AST
# constructor recursion depth mismatch" while describing a strategy, fixed in later releases):
# use a Python of 3.12.2 or later when the machine has one (pyenv's), else python3.
PY=python3
for candidate in "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.1[2-9]*/bin/python3 python3.13 python3.12; do
  if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12, 2))' 2>/dev/null; then
    PY="$candidate"
  fi
done
VENV="${VENV:-target/schemathesis-venv-$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}"
if [ ! -x "$VENV/bin/schemathesis" ] || [ ! -x "$VENV/bin/openapi-spec-validator" ]; then
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q schemathesis openapi-spec-validator
fi
cargo build --bin emodal-api
work="$(mktemp -d)"
api_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
portal_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/settings.toml" <<TOML
[server]
port = $api_port
drain_timeout = 10
[sessions]
max_sessions = 3
login_timeout = 60
operation_timeout = 60
[login]
max_attempts = 3
[chrome]
data_dir = "$work/data"
call_timeout = 10
[sandbox]
port = $portal_port
captcha_solve_delay_ms = 0
TOML
target/debug/emodal-api --config "$work/settings.toml" sandbox >"$work/stdout.log" 2>"$work/stderr.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api_port/health" >/dev/null && break; sleep 0.2; done

status=0
echo "--- /openapi.json against the OpenAPI specification"
curl -sf "http://127.0.0.1:$api_port/openapi.json" >"$work/openapi.json"
"$VENV/bin/openapi-spec-validator" "$work/openapi.json" || status=1

echo "--- schemathesis"
# Checks left out, and why:
#  - ignored_auth: the server runs with no server.api_tokens (an open API), so a request
#    without a token is rightly served; tokens are tested in tests/hardening.rs.
#  - positive_data_acceptance: schema-valid bodies are still refused by the portal's rules
#    (a random session_id is unknown: 400 session_not_found; random credentials are
#    rejected: 401), so "valid data is accepted" cannot hold for this API.
# /events is left out: it is a stream that stays open until the client leaves, so every
# example would wait out the request timeout (tests/events.rs drives it).
start=$(date +%s)
"$VENV/bin/schemathesis" run "$work/openapi.json" \
  --url "http://127.0.0.1:$api_port" \
  --phases "${PHASES:-examples,coverage,fuzzing}" \
  --checks all \
  --exclude-checks ignored_auth,positive_data_acceptance \
  --exclude-path /events \
  --max-examples "${MAX_EXAMPLES:-25}" \
  --workers "${WORKERS:-2}" \
  --request-timeout 120 \
  --suppress-health-check all \
  ${FUZZ_ARGS:-} || status=$?
echo "schemathesis took $(( $(date +%s) - start )) s"

echo "--- server alive after the run?"
curl -sf "http://127.0.0.1:$api_port/health" || { echo "FAIL: server not answering"; status=1; }
echo
kill -TERM $pid
wait $pid; code=$?
trap - EXIT
echo "server exit code: $code"
[ "$code" -eq 0 ] || status=1
if pgrep -f -- "--user-data-dir=$work/data" >/dev/null; then echo "FAIL: Chrome left running"; status=1; fi
if [ -n "$(ls -A "$work/data/profiles" 2>/dev/null)" ]; then echo "FAIL: profiles left"; status=1; fi
echo "error log lines: $(grep -c 'ERROR' "$work/stderr.log" || true)"
grep 'ERROR' "$work/stderr.log" | head -5 || true
rm -rf "$work"
exit $status
