#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has Python torch but no package
# registry: lethe's Debian 12 build dependencies other than libtorch (headers, CMake/pkg-config files
# and shared libraries), unpacked with `dpkg -x` from packages fetched by `apt-get download` into
# DIR/root, and the reference fixtures (../shared/fixtures) into DIR/fixtures.
#
#   scripts/gpu-deps.sh DIR      (on this machine, before the GPU run; ~60 MB)
#
# The folder goes beside the checkout (or anywhere: gpu-check.sh --deps DIR).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { echo "usage: scripts/gpu-deps.sh DIR" >&2; exit 2; }
out=$(mkdir -p "$1" && cd "$1" && pwd)
# The -dev packages lethe builds with (scripts/install-deps.sh, without libtorch, OpenBLAS, the
# compiler and the test-only browser), and the shared libraries they link at run time.
packages=(
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  libpcre2-dev libpcre2-8-0 libicu-dev libicu72 libyaml-cpp-dev libyaml-cpp0.7
  libcurl4-openssl-dev libcurl4 libsqlite3-dev libsqlite3-0 libcpp-httplib-dev zlib1g-dev
  libnghttp2-14 libidn2-0 librtmp1 libssh2-1 libpsl5 libldap-2.5-0 libbrotli1 libsasl2-2
  libssl3 libzstd1 libunistring2 libgnutls30 libhogweed6 libnettle8 libgmp10 libp11-kit0
  libtasn1-6 libkrb5-3 libk5crypto3 libkrb5support0 libgssapi-krb5-2 libcom-err2 libkeyutils1
)
mkdir -p "$out/debs" "$out/root"
(cd "$out/debs" && apt-get download "${packages[@]}" >/dev/null)
for deb in "$out"/debs/*.deb; do dpkg -x "$deb" "$out/root"; done
rm -rf "$out/fixtures"
cp -a "$here/../shared/fixtures" "$out/fixtures"
echo "gpu-deps: $(ls "$out/debs" | wc -l) packages in $out/root, fixtures in $out/fixtures ($(du -sh "$out" | cut -f1))"
