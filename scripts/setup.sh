#!/bin/bash
# Sets up everything the project needs on a fresh Debian 12 machine with Node 20 (idempotent):
# Debian packages for the real-editor tests, the npm dependencies, and code-server in a cache folder.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="chromium ripgrep libkrb5-dev neovim"
missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq $missing > /dev/null
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error

if [ -x .ci/editor/install-code-server.sh ]; then
  CS_DIR=${IDREG_CODE_SERVER_DIR:-$HOME/.cache/idreg-lens/code-server-4.100.3}
  if [ ! -x "$CS_DIR/node_modules/.bin/code-server" ]; then
    echo "setup: installing code-server 4.100.3 into $CS_DIR (about 2 minutes; log: /tmp/idreg-code-server-install.log)"
    .ci/editor/install-code-server.sh "$CS_DIR" 4.100.3 > /tmp/idreg-code-server-install.log 2>&1 \
      || { tail -50 /tmp/idreg-code-server-install.log; exit 1; }
  fi
fi

npm run build --silent
echo "setup: done"
