#!/usr/bin/env bash
# Builds lethe and runs its whole test suite inside a Debian chroot of another release, to check it
# against the libtorch that release packages: trixie (libtorch 2.6), sid (2.14), bookworm (1.13).
#
#   scripts/build-chroot.sh SUITE [--cuda] [--prepare] [--no-test] [--bench] [--root DIR] [-- CTEST_ARGS...]
#
# --prepare makes the chroot and installs the dependencies only; --no-test builds without running ctest.
#
# The chroot (default /opt/lethe-chroot-SUITE, or --root) is made once with debootstrap and reused:
# the script is idempotent. Inside it, scripts/install-deps.sh installs lethe's dependencies from that
# release, so the package list stays in one place. The source tree is bind-mounted at the same path
# (the build goes to build-SUITE/ or build-SUITE-cuda/ beside the host's build/), ../shared read-only
# beside it, so the tests find ../shared/fixtures as on the host. Nothing stays mounted afterwards.
#
# --cuda (trixie only; its own chroot, /opt/lethe-chroot-trixie-cuda, since libtorch-cuda-dev conflicts
# with libtorch-dev): installs libtorch-cuda-dev 2.6 (contrib) and the CUDA 12.4 toolkit (non-free)
# and builds lethe against the CUDA libtorch. Without a GPU it only compiles and links; the tests run
# when /dev/nvidia0 exists.
# The Debian mirror is read from this machine's apt configuration, so nothing here names a host.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[ $# -ge 1 ] || usage
suite=$1
shift
cuda=0 prepare=0 run_tests=1 bench=0 root=""
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) cuda=1 ;;
    --prepare) prepare=1 ;;
    --no-test) run_tests=0 ;;
    --bench) bench=1 ;;
    --root) root=$2; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "build-chroot.sh: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
case "$suite" in
  bookworm | trixie | sid) ;;
  *) echo "build-chroot.sh: unknown suite '$suite': use trixie (libtorch 2.6), sid (2.14) or bookworm (1.13)" >&2
     exit 2 ;;
esac
if [ "$cuda" = 1 ] && [ "$suite" != trixie ]; then
  echo "build-chroot.sh: --cuda needs trixie (the only release with libtorch-cuda-dev, 2.6, in contrib)" >&2
  exit 2
fi
[ "$(id -u)" = 0 ] || { echo "build-chroot.sh: run as root (debootstrap, chroot and mounts need it)" >&2; exit 2; }
root=${root:-/opt/lethe-chroot-$suite$([ "$cuda" = 1 ] && echo -cuda || true)}

mirror=$(grep -rhoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' |
         grep -v security | head -1 || true)
[ -n "$mirror" ] || mirror=$(grep -rhoE '^deb \S+' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                             2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
[ -n "$mirror" ] || { echo "build-chroot.sh: no Debian mirror found in /etc/apt (sources.list or *.sources)" >&2; exit 2; }

# Runs a command in the chroot, in a private mount namespace so nothing stays mounted on the host.
in_chroot() {
  unshare --mount --propagation private /bin/bash -c '
    set -e
    root=$1 src=$2; shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount --bind /tmp "$root/tmp"
    mkdir -p "$root$src" "$root$src/../shared"
    mount --bind "$src" "$root$src"
    if [ -d "$src/../shared" ]; then
      mount --bind "$src/../shared" "$root$src/../shared"
      mount -o remount,bind,ro "$root$src/../shared"
    fi
    exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -c "cd \"$src\" && $*"
  ' _ "$root" "$here" "$@"
}

if [ ! -f "$root/.lethe-chroot-base" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }
  echo "build-chroot.sh: making a $suite chroot at $root (debootstrap, a few minutes, once)"
  [ -x "$root/bin/sh" ] || debootstrap --variant=minbase --components=main,contrib,non-free \
    "$suite" "$root" "$mirror" >/dev/null
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  echo "deb $mirror $suite main contrib non-free non-free-firmware" >"$root/etc/apt/sources.list"
  # sid's Release file can look expired against this machine's clock
  echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99no-valid-until"
  echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/99norecommends"
  in_chroot 'apt-get update -qq && apt-get install -y -qq sudo ca-certificates >/dev/null'
  touch "$root/.lethe-chroot-base"
fi

build_dir=build-$suite
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DLETHE_BUILD_BENCH=$([ "$bench" = 1 ] && echo ON || echo OFF))
if [ "$cuda" = 0 ]; then
  # Re-run every time: apt skips what is installed, and a new dependency in install-deps.sh arrives.
  in_chroot './scripts/install-deps.sh >/dev/null'
else
  build_dir=build-$suite-cuda
  # libtorch_cuda links cuDNN 9. trixie's nvidia-cudnn only downloads it from NVIDIA at install time,
  # so it is replaced by an empty stub (equivs) and the cuDNN 9 libraries are copied from this
  # machine's CUDA toolkit (/usr/local/cuda), which is enough to link; lethe calls no cuDNN function.
  cudnn_dir=${LETHE_CUDNN_DIR:-/usr/local/cuda/lib64}
  if [ ! -e "$cudnn_dir/libcudnn.so.9" ]; then
    echo "build-chroot.sh: --cuda needs cuDNN 9 to link libtorch_cuda: no $cudnn_dir/libcudnn.so.9" \
      "(install a CUDA toolkit with cuDNN 9, or set LETHE_CUDNN_DIR to a folder holding libcudnn*.so.9)" >&2
    exit 2
  fi
  if [ ! -f "$root/.lethe-chroot-cuda" ]; then
    echo "build-chroot.sh: installing libtorch-cuda-dev 2.6 and the CUDA 12 toolkit in $root (large, once)"
    in_chroot 'apt-get install -y -qq equivs >/dev/null && mkdir -p /tmp/lethe-cudnn-stub.$$ &&
      cd /tmp/lethe-cudnn-stub.$$ &&
      printf "Section: misc\nPriority: optional\nStandards-Version: 4.6.2\nPackage: nvidia-cudnn\nVersion: 9.99-lethe-stub\nDescription: empty stand-in for the offline build\n the real package downloads cuDNN from NVIDIA at install time.\n" >nvidia-cudnn.ctl &&
      equivs-build nvidia-cudnn.ctl >/dev/null && dpkg -i nvidia-cudnn_9.99-lethe-stub_all.deb >/dev/null &&
      cd / && rm -rf /tmp/lethe-cudnn-stub.$$'
    mkdir -p "$root/usr/local/lib/lethe-cudnn"
    cp -a "$cudnn_dir"/libcudnn*.so.9* "$root/usr/local/lib/lethe-cudnn/"
    echo /usr/local/lib/lethe-cudnn >"$root/etc/ld.so.conf.d/lethe-cudnn.conf"
    touch "$root/.lethe-chroot-cuda"
  fi
  # nvcc 12.4 accepts host compilers up to GCC 13 (trixie's default is 14): lethe is built with 13.
  in_chroot 'LETHE_TORCH_PACKAGES="libtorch-cuda-dev python3-torch-cuda libgloo-cuda-dev" ./scripts/install-deps.sh \
    nvidia-cuda-toolkit g++-13 libcuda1 >/dev/null && ldconfig'
  cmake_args+=(-DCMAKE_CXX_COMPILER=g++-13 -DCMAKE_CUDA_COMPILER=/usr/bin/nvcc
               -DCMAKE_CUDA_HOST_COMPILER=g++-13)
  run_tests=$([ "$run_tests" = 1 ] && [ -e /dev/nvidia0 ] && echo 1 || echo 0)
fi

[ "$prepare" = 0 ] || { echo "build-chroot.sh: $root ready"; exit 0; }
echo "build-chroot.sh: building lethe in $root ($build_dir/)"
in_chroot "cmake -S . -B $build_dir ${cmake_args[*]} >/dev/null && cmake --build $build_dir -j \$(nproc)"
in_chroot "grep -m1 '^Torch_DIR' $build_dir/CMakeCache.txt; $build_dir/lethe --version"
if [ "$run_tests" = 1 ]; then
  in_chroot "ctest --test-dir $build_dir --output-on-failure -j \$(nproc) ${ctest_args[*]:-}"
fi
