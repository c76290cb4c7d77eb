#!/usr/bin/env bash
# Drills against the release binary on the sandbox (figures in the README):
#   slow clients: 2,000 half-sent request heads from one address while /health is asked
#   from another; the service must keep answering, keep its session, and get its
#   descriptors back; then SIGTERM must leave no Chrome and no profile.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
cargo build --release --bin emodal-api
work="$(mktemp -d)"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port=$(port); portal_port=$(port)
cat > "$work/settings.toml" <<TOML
[server]
port = $api_port
header_read_timeout = 5
[chrome]
data_dir = "$work/data"
[sandbox]
port = $portal_port
captcha_solve_delay_ms = 0
TOML
target/release/emodal-api --config "$work/settings.toml" sandbox >"$work/out.log" 2>"$work/err.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api_port/health" >/dev/null && break; sleep 0.2; done
curl -sf -XPOST "http://127.0.0.1:$api_port/get_session" -H 'content-type: application/json' \
  -d '{"username":"demo","password":"demo-password","captcha_api_key":"k"}' >/dev/null
echo "--- slow clients"
python3 scripts/drill_slow_clients.py "$api_port" "$pid"
kill -TERM $pid; wait $pid; code=$?; trap - EXIT
echo "exit code $code; Chrome left: $(pgrep -fc -- "--user-data-dir=$work/data" || true);" \
  "profiles left: $(ls "$work/data/profiles" 2>/dev/null | wc -l)"
rm -rf "$work"
