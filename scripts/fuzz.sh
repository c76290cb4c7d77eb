#!/usr/bin/env bash
# Fuzz the API with schemathesis (from PyPI) against a sandbox-backed server built from this
# checkout: every response must match /openapi.json, none may be a 5xx, and the server must
# still be healthy afterwards and exit cleanly (code 0, no Chrome left) on SIGTERM.
#   MAX_EXAMPLES=25 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
VENV="${VENV:-target/schemathesis-venv}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q schemathesis
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
"$VENV/bin/schemathesis" run "http://127.0.0.1:$api_port/openapi.json" \
  --checks all \
  --exclude-checks ignored_auth,positive_data_acceptance,unsupported_method \
  --max-examples "${MAX_EXAMPLES:-25}" \
  --workers 1 \
  --request-timeout 120 \
  --suppress-health-check all || status=$?

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
grep -c '"level":"ERROR"\|ERROR' "$work/stderr.log" | sed 's/^/error log lines: /' || true
rm -rf "$work"
exit $status
