#!/usr/bin/env bash
# Builds bench/llm_client_bench.cpp against an existing build's liblethe.a (BUILD, default build/) and
# runs it. Needs the datagen area in that build and the Debian cpp-httplib package.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
out=$build/llm_client_bench
torch=/usr/lib/x86_64-linux-gnu
g++ -std=c++17 -O2 -I"$root/src" -I"$root/tests" -I/usr/include/torch/csrc/api/include \
  $(pkg-config --cflags cpp-httplib) \
  "$root/bench/llm_client_bench.cpp" "$root/tests/datagen/llm_fake_server.cpp" \
  "$build/liblethe.a" $(pkg-config --libs cpp-httplib icu-uc libpcre2-8) \
  -lcurl -lsqlite3 -lyaml-cpp -lz -ltorch -ltorch_cpu -lc10 -lpthread -o "$out"
"$out"
