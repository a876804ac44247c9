// LoraLinear: base projection + optional LoRA term, merge/unmerge, enabled switch.
#include "model/lora_linear.h"

#include <cmath>

#include "core/error.h"

namespace lethe::model {

LoraLinearImpl::LoraLinearImpl(int64_t in_features, int64_t out_features, bool bias,
                               bool init_weights)
    : in_features_(in_features), out_features_(out_features) {
  LETHE_CHECK(in_features > 0 && out_features > 0, "LoraLinear: bad shape [", out_features, ", ",
              in_features, "]");
  weight = register_parameter("weight", torch::empty({out_features, in_features}));
  if (bias) this->bias = register_parameter("bias", torch::empty({out_features}));
  if (!init_weights) return;
  // nn.Linear's default init, so a freshly built model is usable with random weights.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  if (bias) this->bias.uniform_(-bound, bound);
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::linear(x, weight, bias);
  if (!lora_A.defined() || !enabled_ || merged_) return y;
  torch::Tensor h = x.scalar_type() == lora_A.scalar_type() ? x : x.to(lora_A.scalar_type());
  if (options_.lora_dropout > 0.0) h = torch::dropout(h, options_.lora_dropout, is_training());
  torch::Tensor lora = torch::linear(torch::linear(h, lora_A), lora_B) * scaling_;  // [..., out]
  return y + lora.to(y.scalar_type());
}

void LoraLinearImpl::attach_lora(const LoraOptions& options) {
  LETHE_CHECK(!lora_A.defined(), "LoraLinear: an adapter is already attached");
  LETHE_CHECK(options.r > 0, "LoRA: r must be positive, got ", options.r);
  LETHE_CHECK(options.lora_dropout >= 0.0 && options.lora_dropout < 1.0,
              "LoRA: lora_dropout must be in [0, 1), got ", options.lora_dropout);
  options_ = options;
  scaling_ = options.use_rslora ? options.lora_alpha / std::sqrt(static_cast<double>(options.r))
                                : options.lora_alpha / static_cast<double>(options.r);
  const auto tensor_options =
      weight.options().dtype(options.dtype.value_or(weight.scalar_type())).requires_grad(false);
  lora_A = register_parameter("lora_A", torch::empty({options.r, in_features_}, tensor_options));
  lora_B = register_parameter("lora_B", torch::empty({out_features_, options.r}, tensor_options));
  reset_lora_parameters();
  weight.set_requires_grad(false);
  if (bias.defined()) bias.set_requires_grad(false);
  enabled_ = true;
  merged_ = false;
}

void LoraLinearImpl::detach_lora() {
  if (!lora_A.defined()) return;
  unmerge();
  parameters_.erase("lora_A");  // torch::nn::Module has no unregister_parameter
  parameters_.erase("lora_B");
  lora_A = torch::Tensor();
  lora_B = torch::Tensor();
  scaling_ = 0.0;
  enabled_ = true;
}

void LoraLinearImpl::reset_lora_parameters() {
  LETHE_CHECK(lora_A.defined(), "LoraLinear: no adapter attached");
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(lora_A, std::sqrt(5.0));
  lora_B.zero_();
}

void LoraLinearImpl::set_enabled(bool enabled) {
  LETHE_CHECK(enabled || !merged_, "LoraLinear: cannot disable a merged adapter; unmerge it first");
  enabled_ = enabled;
}

torch::Tensor LoraLinearImpl::delta_weight() const {
  LETHE_CHECK(lora_A.defined(), "LoraLinear: no adapter attached");
  return torch::matmul(lora_B.to(torch::kFloat32), lora_A.to(torch::kFloat32)) * scaling_;
}

void LoraLinearImpl::merge() {
  LETHE_CHECK(lora_A.defined(), "LoraLinear: no adapter to merge");
  if (merged_) return;
  LETHE_CHECK(enabled_, "LoraLinear: cannot merge a disabled adapter");
  torch::NoGradGuard no_grad;
  weight.copy_((weight.to(torch::kFloat32) + delta_weight()).to(weight.scalar_type()));
  merged_ = true;
}

void LoraLinearImpl::unmerge() {
  if (!merged_) return;
  torch::NoGradGuard no_grad;
  weight.copy_((weight.to(torch::kFloat32) - delta_weight()).to(weight.scalar_type()));
  merged_ = false;
}

}  // namespace lethe::model
