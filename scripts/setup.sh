#!/usr/bin/env bash
# Installs what tdx-wizard needs on a Debian/Ubuntu host, then builds it.
#   scripts/setup.sh          runtime: the disk tools, Node >= 20, npm dependencies, build
#   scripts/setup.sh --dev    the same, plus what the tests use (tmux, strace, fdisk for sfdisk; bubblewrap and
#                             python3-yaml for the guest-script sandbox of test/guest; ansible-core for deploy/ansible)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PACKAGES=(qemu-utils qemu-system-common e2fsprogs cryptsetup-bin fuse3 util-linux kmod xfsprogs python3)
[ "${1:-}" = "--dev" ] && PACKAGES+=(tmux strace bubblewrap python3-yaml python3-jsonschema fdisk ansible-core)

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ]; then
  # Debian 12 ships Node 18; Ubuntu 25.04 ships Node 20. Node 20 also comes from the npm registry.
  command -v npm >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  [ "$(node_major)" -ge 20 ] || $SUDO npm install -g --no-audit --no-fund node@20 >/dev/null
  hash -r
fi
echo "node $(node --version), npm $(npm --version)"

npm ci --no-audit --no-fund
npm run build
