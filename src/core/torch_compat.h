// The one place where lethe's code differs between the libtorch versions it builds against: Debian 12's
// 1.13, trixie's 2.6, sid's 2.14 and the CUDA wheels' 2.x. Everything else calls these helpers and
// never tests TORCH_VERSION itself (scripts/build-chroot.sh builds and tests each version).
#pragma once
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

// True when the libtorch headers are at least MAJOR.MINOR.
#define LETHE_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

#if !LETHE_TORCH_AT_LEAST(1, 13)
#error "lethe needs libtorch 1.13 or newer (Debian 12: libtorch-dev; trixie: 2.6; sid: 2.14)"
#endif

namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d

namespace lethe::compat {

// The class c10d's Gloo and NCCL process groups derive from and that runs their collectives:
// c10d::Backend from 2.0 (a ProcessGroup then dispatches to one Backend per device type), the
// ProcessGroup itself in 1.13.
#if LETHE_TORCH_AT_LEAST(2, 0)
using C10dBackend = c10d::Backend;
#else
using C10dBackend = c10d::ProcessGroup;
#endif

// at::scaled_dot_product_attention (fused flash / memory-efficient / math kernels, boolean masks)
// exists from 2.0; 1.13 has only the explicit softmax(QK^T)V path.
inline constexpr bool has_scaled_dot_product_attention = LETHE_TORCH_AT_LEAST(2, 0);

// [B, H, T, D] x3, mask [B, 1, T, S] (bool: true = attend) -> [B, H, T, D]. Only called when
// has_scaled_dot_product_attention (callers test it with `if constexpr`).
inline at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                               const at::Tensor& v, const at::Tensor& mask) {
#if LETHE_TORCH_AT_LEAST(2, 0)
  return at::scaled_dot_product_attention(q, k, v, mask);
#else
  (void)k, (void)v, (void)mask;
  TORCH_CHECK(false, "scaled_dot_product_attention needs libtorch >= 2.0");
  return q;
#endif
}

// Autocast state per device type: libtorch 2.4 replaced the CPU/GPU pairs of calls
// (is_cpu_enabled, set_autocast_gpu_dtype, ...) by calls taking a device type.
inline bool autocast_enabled(c10::DeviceType device) {
#if LETHE_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline c10::ScalarType autocast_dtype(c10::DeviceType device) {
#if LETHE_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                              : at::autocast::get_autocast_cpu_dtype();
#endif
}

inline void set_autocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
#if LETHE_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::kCUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace lethe::compat
