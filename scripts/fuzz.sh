#!/usr/bin/env bash
# Builds lethe's libFuzzer targets (fuzz/) with clang into build-fuzz/ and runs each one for a
# bounded time, then prints the executions per target. See docs/reliability.md.
#   scripts/fuzz.sh [seconds-per-target] [target ...]     (default: 60 s, every target)
# Seeds come from ../shared/fixtures, configs/, fuzz/seeds/ and tests/fuzz_regressions/ (rebuilt
# each run into build-fuzz/seeds/); what a target learns accumulates in build-fuzz/corpus/<target>/.
# A crash, leak, UB report or timeout leaves its input in build-fuzz/findings/<target>/ and makes
# the script exit 1: fix the parser, then copy the input to tests/fuzz_regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
all=(safetensors model_config tokenizer adapter_config dataset yaml_config llm_response)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

./scripts/install-fuzz-deps.sh
cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz -j "${LETHE_FUZZ_JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

rm -rf build-fuzz/seeds
# libFuzzer ends a run with _Exit, so the targets' scratch folders (fuzz_common.h) outlive it: keep
# them under build-fuzz/tmp, emptied each run, instead of /tmp.
export TMPDIR="$PWD/build-fuzz/tmp"
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
lethe_bin=""
[ -x build/lethe ] && lethe_bin=build/lethe
python3 fuzz/make_seeds.py build-fuzz/seeds $lethe_bin

# The leak checker stays on; libtorch's and ICU's process-lifetime caches are not leaks of ours.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
printf '%-16s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$t" findings="build-fuzz/findings/$t" log="build-fuzz/logs/$t.log"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")" "build-fuzz/seeds/$t"
  result=ok
  # Mutated inputs may grow to 16 KiB, or to the largest seed when one is larger.
  max_len=$(find "build-fuzz/seeds/$t" "$corpus" -type f -printf '%s\n' | sort -n | tail -1)
  max_len=$(( ${max_len:-0} > 16384 ? max_len : 16384 ))
  # -timeout: an input taking over 10 s is a hang; -rss_limit_mb: runaway allocations are findings.
  if ! "build-fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
      -max_len="$max_len" -dict="fuzz/dicts/$t.dict" -print_final_stats=1 -artifact_prefix="$findings/" \
      "$corpus" "build-fuzz/seeds/$t" >"$log" 2>&1; then
    result="FINDING: $(ls -t "$findings" | head -1) (see $log)"
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  printf '%-16s %12s %10s %8s  %s\n' "$t" "${execs:-0}" "${rate:-0}" \
    "$(ls "$corpus" | wc -l)" "$result"
done
exit $status
