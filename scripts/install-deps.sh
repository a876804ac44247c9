#!/usr/bin/env bash
# Installs every build and run dependency of lethe from Debian 12 packages.
# Arguments: extra Debian packages to install with them. LETHE_TORCH_PACKAGES replaces the libtorch
# and Gloo packages (default "libtorch-dev python3-torch libgloo-dev"; scripts/build-chroot.sh --cuda
# sets the CUDA ones, which conflict with these).
# Idempotent: packages already present are skipped by apt. Must run as root (or via sudo).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  ${LETHE_TORCH_PACKAGES:-libtorch-dev python3-torch libgloo-dev}  # libgloo-dev: c10d Gloo headers
  libopenblas-dev
  libopenblas0-openmp  # OpenBLAS on libtorch's OpenMP threads (CMakeLists.txt: RPATH)
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  libpcre2-dev libicu-dev libyaml-cpp-dev
  libcurl4-openssl-dev libsqlite3-dev libcpp-httplib-dev
  gnuplot-nox python3-numpy
  chromium  # report: headless-browser test of report.html
  zlib1g-dev  # eval: zlib membership-inference score
  "$@"  # extra packages of a caller (scripts/install-fuzz-deps.sh)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
