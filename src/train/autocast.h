// Mixed precision for training: matmuls in bfloat16/float16 while parameters, gradients and the
// optimiser stay float32 (torch.autocast semantics). Used by full-parameter pretraining, where a
// bf16 copy of trainable weights cannot be kept.
#pragma once
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

namespace lethe::train {

// Enables autocast for `device` with `dtype` for its lifetime (nothing when dtype is nullopt) and
// restores the previous state afterwards. Ops autograd records under it are cast back in backward.
class AutocastGuard {
 public:
  AutocastGuard(c10::Device device, std::optional<c10::ScalarType> dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::BFloat16;
};

// "none" | "bfloat16" | "float16" -> nullopt or the dtype; throws lethe::UsageError otherwise.
std::optional<c10::ScalarType> parse_autocast(const std::string& name);

}  // namespace lethe::train
