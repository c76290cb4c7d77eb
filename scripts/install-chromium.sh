#!/usr/bin/env bash
# Install Debian's Chromium builds when missing: chromium-headless-shell (the default
# chrome.path, /usr/lib/chromium/chromium-headless-shell) and chromium (full Chromium, the
# documented alternative, on which the browser tests run too). Never downloads a browser
# from anywhere else.
set -euo pipefail
missing=()
[ -x /usr/lib/chromium/chromium-headless-shell ] || missing+=(chromium-headless-shell)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian's ${missing[*]}..."
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
/usr/lib/chromium/chromium-headless-shell --version
/usr/bin/chromium --version
