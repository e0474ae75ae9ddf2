#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing.
# Idempotent: on a machine that has them all it does nothing and needs no root.
set -euo pipefail

packages=(pkg-config libxml2-dev libssl-dev libsqlite3-dev libxml2-utils python3)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
