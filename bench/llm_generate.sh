#!/usr/bin/env bash
# Benchmarks `lethe data generate --backend openai` against a live OpenAI-compatible endpoint: a cold
# run (every request sent) and a warm rerun (every reply from the cache), with requests, tokens and
# wall time from OUT/llm_generation.json.
# Usage: bench/llm_generate.sh BASE_URL MODEL [extra lethe options...]
#   e.g. bench/llm_generate.sh http://localhost:8000/v1 Qwen/Qwen2.5-7B-Instruct --targets 5 --concurrency 8
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BASE_URL MODEL [lethe options]" >&2; exit 2; }
url=$1 model=$2; shift 2
lethe=${LETHE:-$(dirname "$0")/../build/lethe}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for run in cold warm; do
  start=$(date +%s.%N)
  "$lethe" data generate --backend openai --base-url "$url" --model "$model" --out "$work/$run" \
    --cache "$work/cache.sqlite" --quiet "$@" > /dev/null
  end=$(date +%s.%N)
  /usr/bin/python3 - "$work/$run/llm_generation.json" "$run" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = r["totals"]; secs = float(sys.argv[4]) - float(sys.argv[3])
tok = t["prompt_tokens"] + t["completion_tokens"]
print(f'{sys.argv[2]}: {secs:.1f} s, {t["http_requests"]} HTTP requests, {t["cache_hits"]} cache hits, '
      f'{t["retried"]} retried, {t["invalid_replies"]} invalid, {t["dropped"]} dropped, {tok} tokens '
      f'({tok / max(secs, 1e-9):.0f} tok/s)')
for stage, s in r["stages"].items():
    print(f'  {stage:8s} {s["requests"]:5d} requests {s["valid"]:5d} valid {s["invalid_replies"]:4d} invalid')
PY
done
