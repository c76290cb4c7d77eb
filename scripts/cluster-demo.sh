#!/usr/bin/env bash
# Issue 15's cluster demo, for a human to watch (not part of the test suite): three
# nats-servers routed into one JetStream cluster on 127.0.0.1 (streams with 3 replicas),
# three service nodes (the release binary) listing all three servers, and the sandbox
# portal, each a process of its own. It logs in three sessions (one through each node),
# runs a loop of business requests against every node, SIGKILLs one NATS server in the
# middle of it, and shows that every session still answers under the same id from every
# node with no new captcha, and that a new session can still be made (2 of 3 servers keep
# JetStream's quorum). Everything it started is stopped on exit (Ctrl-C included).
# About a minute once built. Needs curl, jq and python3 (free ports).
#   KEEP=1 scripts/cluster-demo.sh   keeps the work directory (configs, logs) afterwards
#   LOOP_SECONDS=30                  how long the request loop runs (the kill is at 1/4)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
scripts/install-nats.sh
echo "+ cargo build --release --bin emodal-api" >&2
cargo build --release --bin emodal-api
BIN="$PWD/target/release/emodal-api"
NATS=/usr/sbin/nats-server
[ -x "$NATS" ] || NATS=nats-server
LOOP_SECONDS=${LOOP_SECONDS:-30}
TOKEN="demo-token-$RANDOM$RANDOM"
SECRET="demo-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
WORK=$(mktemp -d /tmp/emodal-cluster-demo.XXXXXX)

PIDS=()
NATS_PIDS=()
NODE_PIDS=()
LOOP_PID=""
cleanup() {
  set +e
  echo
  echo "== cleaning up"
  [ -n "$LOOP_PID" ] && kill -TERM "$LOOP_PID" 2>/dev/null
  # The nodes first, while NATS still runs (their drain hands sessions over through it),
  # then NATS and the sandbox. Only the processes this script started, by pid.
  for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${NODE_PIDS[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
  done
  for pid in "${NATS_PIDS[@]}" "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  sleep 0.5
  for pid in "${NATS_PIDS[@]}" "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ "${KEEP:-0}" = 1 ]; then
    echo "   work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '[%6.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*"; }
T0=$(date +%s.%N)

# Free ports, distinct; the sandbox's also free on 127.0.0.2-5 (its other portal hosts).
read -r -a PORTS <<<"$(python3 - <<'EOF'
import socket
ports = set()
def free(all_hosts=False):
    while True:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
        if p in ports: continue
        if all_hosts:
            try:
                for i in range(2, 6):
                    t = socket.socket(); t.bind((f"127.0.0.{i}", p)); t.close()
            except OSError:
                continue
        ports.add(p); return p
print(" ".join(str(free()) for _ in range(12)), free(True))
EOF
)"
NATS_PORT=("${PORTS[@]:0:3}") ROUTE_PORT=("${PORTS[@]:3:3}") MON_PORT=("${PORTS[@]:6:3}")
NODE_PORT=("${PORTS[@]:9:3}") SANDBOX_PORT=${PORTS[12]}
NODES=(node-a node-b node-c)

echo "== work directory $WORK"
# --- NATS: three servers, each routing to the other two ---------------------------------
NATS_URLS=""
for i in 0 1 2; do
  routes=""
  for j in 0 1 2; do
    [ "$j" = "$i" ] || routes="$routes\"nats-route://127.0.0.1:${ROUTE_PORT[$j]}\", "
  done
  cat >"$WORK/nats-$i.conf" <<EOF
server_name: "nats-$i"
listen: "127.0.0.1:${NATS_PORT[$i]}"
http: "127.0.0.1:${MON_PORT[$i]}"
jetstream { store_dir: "$WORK/nats-$i-store" }
cluster {
  name: "emodal-demo"
  listen: "127.0.0.1:${ROUTE_PORT[$i]}"
  routes: [${routes%, }]
}
EOF
  "$NATS" -c "$WORK/nats-$i.conf" >"$WORK/nats-$i.log" 2>&1 &
  NATS_PIDS+=($!)
  NATS_URLS="$NATS_URLS\"nats://127.0.0.1:${NATS_PORT[$i]}\", "
done
NATS_URLS="[${NATS_URLS%, }]"
say "started nats-0, nats-1, nats-2 (client ports ${NATS_PORT[*]}, routes ${ROUTE_PORT[*]})"
for i in 0 1 2; do
  for _ in $(seq 1 300); do
    leader=$(curl -sf "http://127.0.0.1:${MON_PORT[$i]}/jsz" | jq -r '.meta_cluster.leader // empty' 2>/dev/null || true)
    [ -n "$leader" ] && break
    sleep 0.1
  done
  [ -n "$leader" ] || { echo "nats-$i never saw a JetStream meta leader; log: $WORK/nats-$i.log"; exit 1; }
done
say "JetStream cluster formed, meta leader $leader"

# --- the sandbox portal -------------------------------------------------------------------
cat >"$WORK/sandbox.toml" <<EOF
[sandbox]
captcha_solve_delay_ms = 300
$(for n in 1 2 3 4; do printf '\n[[sandbox.accounts]]\nusername = "dispatch%s"\npassword = "demo-password-%s"\n' "$n" "$n"; done)
EOF
"$BIN" --config "$WORK/sandbox.toml" sandbox-portal --port "$SANDBOX_PORT" >"$WORK/sandbox.log" 2>&1 &
PIDS+=($!)
SANDBOX="http://127.0.0.1:$SANDBOX_PORT"
for _ in $(seq 1 200); do curl -sf "$SANDBOX/__sandbox/stats" >/dev/null && break; sleep 0.1; done
say "sandbox portal on $SANDBOX"

# --- three service nodes ------------------------------------------------------------------
for i in 0 1 2; do
  cat >"$WORK/${NODES[$i]}.toml" <<EOF
[server]
port = ${NODE_PORT[$i]}
api_tokens = ["$TOKEN"]
[log]
format = "json"
[chrome]
data_dir = "$WORK/${NODES[$i]}-data"
spares = 0
[sessions]
secret = "$SECRET"
[cluster]
enabled = true
node_id = "${NODES[$i]}"
nats_urls = $NATS_URLS
replicas = 3
EOF
  "$BIN" --config "$WORK/${NODES[$i]}.toml" serve --sandbox-url "$SANDBOX" >"$WORK/${NODES[$i]}.log" 2>&1 &
  NODE_PIDS+=($!)
done
api() { echo "http://127.0.0.1:${NODE_PORT[$1]}"; }
for i in 0 1 2; do
  for _ in $(seq 1 600); do
    live=$(curl -s "$(api "$i")/ready" | jq -r '.cluster.live_nodes | length' 2>/dev/null || echo 0)
    [ "$live" = 3 ] && break
    sleep 0.1
  done
  [ "$live" = 3 ] || { echo "${NODES[$i]} never saw 3 live nodes; log: $WORK/${NODES[$i]}.log"; exit 1; }
done
say "nodes up: $(for i in 0 1 2; do printf '%s=%s ' "${NODES[$i]}" "$(api "$i")"; done)"
echo "   GET /ready on node-a: $(curl -s "$(api 0)/ready")"

streams() {
  # As server $1 sees them: "the other replicas" are the servers besides it.
  curl -s "http://127.0.0.1:${MON_PORT[$1]}/jsz?streams=true" |
    jq -r '.account_details[]?.stream_detail[]? | "   \(.name): leader \(.cluster.leader); the other replicas: \([.cluster.replicas[]? | "\(.name) \(if .current then "current" else "NOT current" end)"] | join(", "))"' | sort
}
echo "   the buckets' streams (3 replicas each):"
streams 0

# --- three sessions, one through each node ------------------------------------------------
post() { # post <node index> <path> <json> -> "<status> <seconds>" and the body in $WORK/body
  curl -s -o "$WORK/body" -w '%{http_code} %{time_total}\n' --max-time 120 \
    -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -X POST "$(api "$1")$2" -d "$3"
}
login() { # login <node index> <account number>
  post "$1" /get_session "{\"username\":\"dispatch$2\",\"password\":\"demo-password-$2\",\"captcha_api_key\":\"demo-key\",\"keep_alive\":true}" >/dev/null
  jq -r '.session_id // empty' "$WORK/body"
}
SESSIONS=()
for i in 0 1 2; do
  id=$(login "$i" $((i + 1)))
  [ -n "$id" ] || { echo "get_session failed: $(cat "$WORK/body")"; exit 1; }
  SESSIONS+=("$id")
done
owner() { curl -s -H "Authorization: Bearer $TOKEN" "$(api 0)/sessions" | jq -r --arg id "$1" '.sessions[] | select(.session_id == $id) | .node'; }
for s in 0 1 2; do say "session $s: ${SESSIONS[$s]} served by $(owner "${SESSIONS[$s]}")"; done
CAPTCHAS_BEFORE=$(curl -s "$SANDBOX/__sandbox/stats" | jq .captcha_tasks)

# --- the request loop, and one NATS server killed in the middle ---------------------------
# The victim: the server most nodes are connected to (their clients must move).
victim=0 most=-1
for i in 0 1 2; do
  n=$(curl -s "http://127.0.0.1:${MON_PORT[$i]}/connz" | jq '[.connections[]? | select(.name // "" | startswith("emodal-api"))] | length')
  if [ "$n" -gt "$most" ]; then victim=$i most=$n; fi
done
loop() {
  local end=$(($(date +%s) + LOOP_SECONDS)) k=0
  while [ "$(date +%s)" -lt "$end" ]; do
    for s in 0 1 2; do
      local node=$(((s + k) % 3))
      read -r status took < <(post "$node" /get_containers "{\"session_id\":\"${SESSIONS[$s]}\",\"format\":\"json\",\"target_count\":5}")
      local got="no answer"
      [ "$status" = 000 ] || got=$(jq -r '.session_id // .error // empty' "$WORK/body" 2>/dev/null | cut -c1-90)
      say "session $s via ${NODES[$node]}: $status in ${took}s ($got)"
      echo "$status" >>"$WORK/statuses"
    done
    k=$((k + 1))
  done
}
: >"$WORK/statuses"
say "request loop for ${LOOP_SECONDS}s: each session through every node in turn"
loop &
LOOP_PID=$!
sleep $((LOOP_SECONDS / 4))
say ">>> SIGKILL nats-$victim (pid ${NATS_PIDS[$victim]}, $most node connections)"
kill -KILL "${NATS_PIDS[$victim]}"
wait "${NATS_PIDS[$victim]}" 2>/dev/null || true
wait "$LOOP_PID" || true

echo
say "loop done: $(sort "$WORK/statuses" | uniq -c | awk '{printf "%s x %s  ", $2, $1}')"

# --- afterwards ---------------------------------------------------------------------------
echo
say "every session through every node:"
for s in 0 1 2; do
  for i in 0 1 2; do
    read -r status took < <(post "$i" /get_containers "{\"session_id\":\"${SESSIONS[$s]}\",\"format\":\"json\",\"target_count\":5}")
    same=$([ "$(jq -r .session_id "$WORK/body")" = "${SESSIONS[$s]}" ] && echo "same id" || echo "DIFFERENT: $(cat "$WORK/body")")
    echo "   session $s via ${NODES[$i]}: $status, $same"
  done
  echo "   session $s is served by $(owner "${SESSIONS[$s]}")"
done
CAPTCHAS_AFTER=$(curl -s "$SANDBOX/__sandbox/stats" | jq .captcha_tasks)
say "captcha tasks: $CAPTCHAS_BEFORE before the kill, $CAPTCHAS_AFTER now"
for _ in $(seq 1 30); do
  new=$(login 2 4)
  [ -n "$new" ] && break
  say "a new session: $(cat "$WORK/body") (retrying)"
  sleep 1
done
say "a new session after the kill (2 of 3 NATS servers left): ${new:-FAILED}"
for i in 0 1 2; do echo "   ${NODES[$i]} /ready: $(curl -s "$(api "$i")/ready")"; done
echo "   the streams now, as nats-$(((victim + 1) % 3)) sees them (each kept 2 of its 3 replicas):"
streams $(((victim + 1) % 3))
