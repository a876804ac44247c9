// AdamW (Loshchilov & Hutter 2019) exactly as torch.optim.AdamW computes it, with fp32 state
// whatever the parameter dtype, a state dict keyed by parameter name (checkpoints), and clipping by
// global norm.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lethe::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay =
      0.01;  // decoupled; parameters with fewer than 2 dims (norms, biases) get none
};

// A trainable parameter by its checkpoint name (model.layers.0.self_attn.q_proj.lora_A).
using NamedParameters = std::vector<std::pair<std::string, torch::Tensor>>;

class AdamW {
 public:
  // Validates options (betas in [0, 1), eps > 0, weight_decay >= 0); throws lethe::Error.
  AdamW(NamedParameters params, const AdamWOptions& options);

  // One update with learning rate `lr` from each parameter's .grad() (parameters without a gradient
  // are skipped, as in torch). torch.optim.AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v +
  // (1-b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
  void step(double lr);
  void zero_grad();

  int64_t step_count() const { return step_; }
  const NamedParameters& parameters() const { return params_; }

  // "<name>.exp_avg", "<name>.exp_avg_sq" (fp32, parameter shape) and "step" (int64 scalar).
  std::map<std::string, torch::Tensor> state_dict() const;
  // Restores a state_dict(); throws lethe::Error naming `where` on a missing key or a shape
  // mismatch.
  void load_state_dict(const std::map<std::string, torch::Tensor>& state, const std::string& where);

 private:
  NamedParameters params_;
  AdamWOptions options_;
  std::vector<torch::Tensor> exp_avg_;     // fp32, like params_
  std::vector<torch::Tensor> exp_avg_sq_;  // fp32
  int64_t step_ = 0;
};

// L2 norm over all gradients (fp32, as torch.nn.utils.clip_grad_norm_); when max_norm > 0 and the
// norm exceeds it, scales every gradient by max_norm / (norm + 1e-6). Returns the norm before
// clipping.
double clip_grad_norm(const NamedParameters& params, double max_norm);

}  // namespace lethe::train
