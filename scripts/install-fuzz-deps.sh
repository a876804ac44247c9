#!/usr/bin/env bash
# Installs what the fuzz targets (fuzz/, scripts/fuzz.sh) need: lethe's own dependencies
# (scripts/install-deps.sh) plus clang and its libFuzzer + sanitizer runtimes (Debian 12: clang-14,
# libclang-rt-14-dev). Idempotent; must run as root (or via sudo).
set -euo pipefail
exec "$(dirname "$0")/install-deps.sh" clang libclang-rt-14-dev python3
