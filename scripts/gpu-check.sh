#!/usr/bin/env bash
# One prepared check of lethe on a GPU machine that has a Python torch (with CUDA), transformers and
# peft but no package registry: builds lethe against torch.utils.cmake_prefix_path with the
# dependencies carried in DEPS (scripts/gpu-deps.sh), runs the CUDA test cases, bench_inference and
# bench_train at the Qwen2.5-0.5B and 1.5B shapes (MFU against a bf16 matmul peak measured in the
# same run), the same LoRA step in HF transformers + peft on the same GPU, and a short `lethe run` on
# a random-initialised Qwen2.5-1.5B-shaped model. Budget: under 8 minutes on one GPU, 16 cores.
#
#   scripts/gpu-check.sh --deps DIR [--out DIR] [--dry-run]
#
# --dry-run: the same steps on the CPU of a machine without a GPU, at the micro shape, against
# whatever torch CMake finds (python3's, else the system libtorch), to check the script itself.
# Results: OUT (default gpu-check-out/) holds each step's log and JSON; summary.txt lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "gpu-check: $*" >&2; exit 2; }
deps="" out=gpu-check-out dry=0
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) deps=$(cd "$2" && pwd); shift ;;
    --out) out=$2; shift ;;
    --dry-run) dry=1 ;;
    *) die "unknown option '$1' (usage: scripts/gpu-check.sh --deps DIR [--out DIR] [--dry-run])" ;;
  esac
  shift
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
summary="$out/summary.txt"
: >"$summary"
start=$(date +%s)
note() { echo "[$(($(date +%s) - start)) s] $*" | tee -a "$summary"; }

# Carried dependencies: headers, CMake and pkg-config files, shared libraries under DEPS/root.
fixtures="$(pwd)/../shared/fixtures"
if [ -n "$deps" ]; then
  [ -d "$deps/root/usr/include" ] || die "$deps/root/usr/include missing: make DEPS with scripts/gpu-deps.sh"
  r="$deps/root/usr"
  lib="$r/lib/x86_64-linux-gnu"
  export CPATH="$r/include${CPATH:+:$CPATH}"
  export LIBRARY_PATH="$lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export PKG_CONFIG_PATH="$lib/pkgconfig:$r/share/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$deps/root"
  export CMAKE_PREFIX_PATH="$lib/cmake:$r/share/cmake:$r/lib/cmake${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  fixtures="$deps/fixtures"
fi
[ -d "$fixtures" ] || die "no reference fixtures at $fixtures (scripts/gpu-deps.sh copies them into DEPS)"

gpu=$(python3 -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>/dev/null || true)
if [ "$dry" = 0 ]; then
  [ -n "$gpu" ] || die "python3's torch sees no GPU (use --dry-run on a CPU machine)"
  device=cuda shapes=(0.5b 1.5b) dtype=bfloat16 filter='*/cuda:CausalLM.*'
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
else
  device=cpu shapes=(micro) dtype=float32 filter='*/cpu'
  torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
  [ -f "$torch_prefix/Torch/TorchConfig.cmake" ] || torch_prefix=""
fi
note "device $device ${gpu:+($gpu) }torch $(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo '?'), $(nproc) cores"

# 1. Build (unity build, benches on); a CUDA torch needs nvcc for its CMake config.
build=build-gpu-check
cmake_args=(-DLETHE_BUILD_BENCH=ON "-DLETHE_FIXTURES_DIR=$fixtures")
if [ -n "$torch_prefix" ]; then
  BUILD_DIR=$build ./scripts/build-cuda.sh "$torch_prefix" "${cmake_args[@]}" >"$out/build.log" 2>&1 ||
    { tail -20 "$out/build.log"; die "build failed (log: $out/build.log)"; }
else  # dry run without a Python torch CMake package: the system libtorch
  { cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" &&
    cmake --build $build -j "$(nproc)"; } >"$out/build.log" 2>&1 ||
    { tail -20 "$out/build.log"; die "build failed (log: $out/build.log)"; }
fi
note "built $build ($(grep -m1 -o 'libtorch [0-9.]*[^ ,]*' "$out/build.log" || echo 'libtorch'))"

# 2. The device test cases (every parametrised suite's /cuda cases, and CausalLM's device loop).
"$build/lethe_tests" --gtest_filter="$filter" --gtest_brief=1 >"$out/tests.log" 2>&1 &&
  note "tests ($filter): $(grep -cE '^\[ +OK' "$out/tests.log" || true) passed, $(grep -oE '[0-9]+ tests?,' "$out/tests.log" | tail -1)" ||
  note "tests ($filter): FAILED (log: $out/tests.log)"

# 3. lethe's benchmarks at the study's model shapes, with the matmul peak of the same run.
for shape in "${shapes[@]}"; do
  "$build/bench/bench_inference" --shape "$shape" --dtype "$dtype" --device "$device" \
    >"$out/bench_inference_$shape.log" 2>&1 || true
  note "bench_inference $shape: $(grep -E 'tokens/s' "$out/bench_inference_$shape.log" | head -3 | tr -s ' ' | paste -sd';' -)"
  "$build/bench/bench_train" --shape "$shape" --dtype "$dtype" --device "$device" --steps 5 --rounds 2 \
    --no-eager --json "$out/bench_train_$shape.json" >"$out/bench_train_$shape.log" 2>&1 || true
  note "bench_train $shape: $(grep -E 'tokens/s' "$out/bench_train_$shape.log" | tr -s ' ' | head -1)"
  # 4. The same LoRA step in HF transformers + peft on the same device.
  if python3 -c 'import transformers, peft' 2>/dev/null; then
    batch=16 seq=512
    [ "$device" = cpu ] && batch=16 seq=64
    python3 bench/hf_peer_lora_step.py --shape "$shape" --device "$device" --dtype "$dtype" \
      --batch $batch --seq $seq --steps 5 >"$out/hf_peer_$shape.json" 2>"$out/hf_peer_$shape.log" || true
    note "hf+peft $shape: $(cat "$out/hf_peer_$shape.json" 2>/dev/null | head -1)"
  else
    note "hf+peft $shape: python3 has no transformers/peft here: peer not run"
  fi
done

# 5. A short study on a random-initialised Qwen2.5-1.5B-shaped model (micro shape on a dry run)
#    with the real Qwen tokenizer: no weights are reachable from the GPU machine.
model="$out/random-model"
run_shape=$([ "$dry" = 1 ] && echo micro || echo 1.5b)
if python3 -c 'import transformers' 2>/dev/null; then
  python3 - "$model" "$run_shape" "$fixtures/qwen-tokenizer" <<'EOF'
import shutil, sys
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM
sys.path.insert(0, "bench")
from hf_peer_lora_step import SHAPES
out, shape, tok = sys.argv[1:]
shape = dict(SHAPES[shape], vocab_size=151936)  # the Qwen tokenizer's vocabulary
torch.manual_seed(0)
config = Qwen2Config(**shape, tie_word_embeddings=True, rope_theta=1e6, max_position_embeddings=32768)
Qwen2ForCausalLM(config).to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(f"{tok}/{f}", f"{out}/{f}")
EOF
  cat >"$out/run.yaml" <<EOF
model: $model
device: $device
dtype: $([ "$device" = cuda ] && echo bfloat16 || echo float32)
finetune: {epochs: 2}
unlearn:
  intensities: {light: 1}
  methods: {grad_ascent: {}, npo: {beta: 0.1}}
eval: {limit: 8, max_new_tokens: 8}
EOF
  if "$build/lethe" run --quick --config "$out/run.yaml" --out "$out/run" >"$out/run.log" 2>&1; then
    note "lethe run ($run_shape, random weights): ok, $(tail -1 "$out/run.log")"
  else
    note "lethe run ($run_shape, random weights): FAILED (log: $out/run.log): $(tail -1 "$out/run.log")"
  fi
else
  note "lethe run: python3 has no transformers to write the random model: not run"
fi
note "done in $(($(date +%s) - start)) s"
