#!/bin/sh
# Install what Shoal needs to build and test, if missing: Debian packages
# (apt), then ioredis from npm for the Node.js cluster-client test.
PKGS="build-essential pkg-config libevent-dev libhiredis-dev libyaml-dev redis-server redis-tools python3-redis python3-pytest clang"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >/dev/null || exit 1
fi

# Node.js is on the image; Debian's nodejs/npm are the fallback.
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q nodejs npm >/dev/null 2>&1
fi
top=$(cd "$(dirname "$0")/.." && pwd)
if command -v npm >/dev/null 2>&1 && [ ! -d "$top/tests/js/node_modules/ioredis" ]; then
  (cd "$top/tests/js" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
    echo "warning: npm install of ioredis failed (the ioredis test will fail)"
fi
exit 0
