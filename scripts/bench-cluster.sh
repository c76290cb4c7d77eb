#!/usr/bin/env bash
# Issue 15's cluster rows (not part of the test suite): one nats-server, three nodes and the
# sandbox portal as separate processes on 127.0.0.1, real Chromium. (1) a warm request on
# the node owning the session vs the same request forwarded over NATS by another node
# (target <= 2 ms median added); (2) a node with 10 sessions SIGKILLed: time until every
# session answers through the survivors (target <= 15 s), and the captcha tasks it cost.
# About 5 minutes. Options: --calls N --sessions N --node-timeout S.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-chromium.sh
scripts/install-nats.sh
echo "+ cargo build --release --bin emodal-api" >&2
cargo build --release --bin emodal-api
echo "+ cargo bench --bench cluster -- $*" >&2
cargo bench --bench cluster -- "$@"
