#!/usr/bin/env bash
# Installs what the fuzz targets (fuzz/, scripts/fuzz.sh) need beyond scripts/install-deps.sh:
# clang and its libFuzzer + sanitizer runtimes (Debian 12: clang-14, libclang-rt-14-dev).
# Idempotent; must run as root (or via sudo).
set -euo pipefail
packages=(clang libclang-rt-14-dev python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-fuzz-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
