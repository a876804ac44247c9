#!/usr/bin/env bash
# Configures and builds lethe against a CUDA libtorch (PyTorch 2.x) into build-cuda/ (BUILD_DIR
# overrides; JOBS sets the parallelism). Not run by CI, which builds against Debian's libtorch 1.13
# (CPU): docs/performance.md, "Building against a CUDA libtorch", says what was checked.
#
#   scripts/build-cuda.sh [TORCH] [extra cmake arguments...]
#
# TORCH: a libtorch folder (an unpacked libtorch-*.zip), its share/cmake, or by default python3's
# torch.utils.cmake_prefix_path. The other dependencies are Debian's (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
die() {
  echo "build-cuda: $*" >&2
  exit 2
}

prefix="${1:-}"
[ $# -gt 0 ] && shift
if [ -z "$prefix" ]; then
  prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null) ||
    die "python3 cannot import torch: pass a libtorch folder or its share/cmake"
fi
[ -f "$prefix/share/cmake/Torch/TorchConfig.cmake" ] && prefix="$prefix/share/cmake"
[ -f "$prefix/Torch/TorchConfig.cmake" ] || die "no Torch/TorchConfig.cmake under $prefix"
root=$(cd "$prefix/../.." && pwd)  # TorchConfig.cmake's TORCH_INSTALL_PREFIX

args=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$prefix")
if compgen -G "$root/lib/libtorch_cuda.so*" >/dev/null; then
  # A CUDA libtorch's CMake config finds the CUDA toolkit and calls enable_language(CUDA), so nvcc
  # must exist here although lethe compiles no CUDA code.
  nvcc="${CUDACXX:-$(command -v nvcc || true)}"
  [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
  [ -n "$nvcc" ] || die "$root is a CUDA libtorch: install a CUDA toolkit (nvcc) or set CUDACXX"
  args+=("-DCMAKE_CUDA_COMPILER=$nvcc")
  echo "build-cuda: CUDA libtorch at $root, nvcc $nvcc"
else
  echo "build-cuda: $root has no libtorch_cuda: building a CPU-only lethe"
fi
command -v ninja >/dev/null && args+=(-G Ninja)

build="${BUILD_DIR:-build-cuda}"
cmake -S . -B "$build" "${args[@]}" "$@"
cmake --build "$build" -j "${JOBS:-$(nproc)}"
echo "build-cuda: built $build/lethe; $build/lethe_tests runs the CUDA cases when a GPU is visible"
