#!/usr/bin/env bash
# Install Debian's nats-server (2.9, with JetStream) when missing: the cluster tests
# (tests/cluster_*.rs) start their own `nats-server -js` on a free port. Never downloads
# it from anywhere else.
set -euo pipefail
if [ -x /usr/sbin/nats-server ]; then
  exit 0
fi
echo "installing Debian's nats-server..."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server >/dev/null
/usr/sbin/nats-server --version
