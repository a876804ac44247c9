// AutocastGuard over ATen's autocast state (core/torch_compat.h hides the 2.4 API change).
#include "train/autocast.h"

#include "core/error.h"
#include "core/torch_compat.h"

namespace lethe::train {

AutocastGuard::AutocastGuard(c10::Device device, std::optional<c10::ScalarType> dtype) {
  if (!dtype) return;
  LETHE_CHECK(device.is_cpu() || device.is_cuda(), "autocast: unsupported device ", device.str());
  active_ = true;
  cuda_ = device.is_cuda();
  const c10::DeviceType type = cuda_ ? c10::kCUDA : c10::kCPU;
  was_enabled_ = compat::autocast_enabled(type);
  previous_dtype_ = compat::autocast_dtype(type);
  compat::set_autocast(type, true, *dtype);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // Leaving the outermost region drops the cached low-precision weight copies.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  compat::set_autocast(cuda_ ? c10::kCUDA : c10::kCPU, was_enabled_, previous_dtype_);
}

std::optional<c10::ScalarType> parse_autocast(const std::string& name) {
  if (name == "none" || name.empty()) return std::nullopt;
  if (name == "bfloat16" || name == "bf16") return c10::ScalarType::BFloat16;
  if (name == "float16" || name == "fp16") return c10::ScalarType::Half;
  throw UsageError("autocast must be none, bfloat16 or float16, got '" + name + "'");
}

}  // namespace lethe::train
