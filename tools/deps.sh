#!/bin/sh
# Install the Debian packages Shoal needs to build and test, if any are missing.
PKGS="build-essential pkg-config libevent-dev libhiredis-dev libyaml-dev redis-server redis-tools python3-redis python3-pytest clang"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >/dev/null
