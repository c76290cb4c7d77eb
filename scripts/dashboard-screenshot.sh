#!/usr/bin/env bash
# Write target/dashboard.png: the operators' dashboard at 1366x900, as headless Chromium
# renders it (and target/dashboard-phone.png, 390 px wide), with two sandbox sessions
# logged in and one of them busy. Starts `emodal-api sandbox` (debug build) on free ports
# with its own data directory, and stops everything it started on the way out.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    echo "Chromium is missing: install it (e.g. apt-get install -y chromium) and retry." >&2
    exit 1
fi

cargo build --bin emodal-api
out="${CARGO_TARGET_DIR:-target}/dashboard.png"
work="$(mktemp -d)"
service=""
busy=""

cleanup() {
    for pid in $busy; do kill "$pid" 2>/dev/null || true; done
    if [ -n "$service" ]; then
        # SIGTERM: the service drains and closes its Chromes itself.
        kill -TERM "$service" 2>/dev/null || true
        wait "$service" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
api_port="$(free_port)"
portal_port="$(free_port)"
api="http://127.0.0.1:$api_port"

EMODAL__SERVER__PORT="$api_port" \
EMODAL__SANDBOX__PORT="$portal_port" \
EMODAL__CHROME__DATA_DIR="$work/data" \
EMODAL__CHROME__SPARES=0 \
EMODAL__SANDBOX__CAPTCHA_SOLVE_DELAY_MS=200 \
EMODAL__SANDBOX__RENDER_DELAY_MS=400 \
EMODAL__LOG__FILTER=warn \
    target/debug/emodal-api sandbox >"$work/service.log" 2>&1 &
service=$!

for _ in $(seq 1 150); do
    curl -sf "$api/health" >/dev/null && break
    kill -0 "$service" 2>/dev/null || { cat "$work/service.log" >&2; exit 1; }
    sleep 0.2
done
curl -sf "$api/health" >/dev/null || { echo "the service did not answer /health" >&2; exit 1; }

session() {
    curl -sf -X POST "$api/get_session" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$2\",\"captcha_api_key\":\"screenshot-key\"}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["session_id"])'
}
demo="$(session demo demo-password)"
session demo2 demo2-password >/dev/null
echo "two sessions logged in (demo: $demo)"

# Keep one session busy while the page loads, so its row shows an operation and its
# progress: a slow grid (1.5 s a page) read up to 110 of its 120 rows takes about 7 s.
curl -sf -X POST "http://127.0.0.1:$portal_port/__sandbox/config" \
    -H 'Content-Type: application/json' -d '{"render_delay_ms": 1500}' >/dev/null
read_grid() {
    curl -s -X POST "$api/get_containers" -H 'Content-Type: application/json' \
        -d "{\"session_id\":\"$demo\",\"target_count\":110,\"format\":\"json\"}" \
        -o /dev/null &
    busy="$busy $!"
    # Until the row says so: the first progress comes after the first page.
    for _ in $(seq 1 50); do
        curl -sf "$api/sessions/$demo" | grep -q '"progress":{' && return
        sleep 0.2
    done
}

# The closed-network flags the service gives its own Chromes, and a fresh profile.
shoot() { # <file> <width,height>
    rm -rf "$work/viewer"
    /usr/bin/chromium --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update --disable-sync \
        --no-first-run --user-data-dir="$work/viewer" \
        --hide-scrollbars --window-size="$2" --virtual-time-budget=4000 \
        --screenshot="$1" "$api/dashboard" 2>"$work/chromium.log" \
        || { cat "$work/chromium.log" >&2; exit 1; }
    echo "wrote $1"
}
read_grid
shoot "$out" 1366,900
# And as a phone shows it (the table becomes one card per session).
read_grid
shoot "${out%.png}-phone.png" 390,1400
