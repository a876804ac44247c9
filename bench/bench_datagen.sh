#!/usr/bin/env bash
# Times `lethe data generate` (offline backend, checks included) at the default size and larger ones.
# Usage: bench/bench_datagen.sh [path/to/lethe]   (default: build/lethe)
set -euo pipefail
lethe=${1:-build/lethe}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {
  local label=$1
  shift
  local start end
  start=$(date +%s.%N)
  "$lethe" --quiet data generate --out "$tmp/$label" "$@" >/dev/null
  end=$(date +%s.%N)
  local bytes
  bytes=$(python3 -c "import json;print(json.load(open('$tmp/$label/manifest.json'))['corpus_text_bytes'])")
  printf '%-28s %6.2f s   corpus %5.2f MB\n' "$label" "$(echo "$end - $start" | bc)" \
    "$(echo "$bytes / 1000000" | bc -l)"
}
run default
run "targets100_bg300" --targets 100 --background 300 --holdout 50
run "targets200_bg600" --targets 200 --background 500 --holdout 100
