// RoPE frequencies, cos/sin tables and rotate-half application, as HF transformers 4.47.
#include "model/rotary.h"

#include <cmath>

namespace lethe::model {

torch::Tensor rope_inv_freq(const ModelConfig& config, torch::Device device) {
  const int64_t dim = config.head_dim;
  auto exponent =
      torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
  torch::Tensor inv_freq = 1.0 / torch::pow(config.rope_theta, exponent);  // [D/2]
  if (config.rope_scaling) {
    const RopeScaling& s = *config.rope_scaling;
    if (s.rope_type == "linear") {
      inv_freq = inv_freq / s.factor;
    } else if (s.rope_type == "llama3") {
      // transformers' _compute_llama3_parameters (Llama 3.1).
      const double old_len = static_cast<double>(s.original_max_position_embeddings);
      const double low_freq_wavelen = old_len / s.low_freq_factor;
      const double high_freq_wavelen = old_len / s.high_freq_factor;
      torch::Tensor wavelen = 2.0 * M_PI / inv_freq;
      torch::Tensor scaled =
          torch::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
      torch::Tensor smooth =
          (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      torch::Tensor smoothed = (1.0 - smooth) * scaled / s.factor + smooth * scaled;
      torch::Tensor medium =
          (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
      inv_freq = torch::where(medium, smoothed, scaled);
    }
  }
  return inv_freq.to(device);
}

std::pair<torch::Tensor, torch::Tensor> rope_cos_sin(const torch::Tensor& inv_freq,
                                                     const torch::Tensor& positions,
                                                     torch::ScalarType dtype) {
  torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(-1) * inv_freq;  // [B, T, D/2]
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);                            // [B, T, D]
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

namespace {

// rotate_half(x) = [-x2, x1] for the halves x1, x2 of the last dim.
torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// y = x * cos + rotate_half(x) * sin with its hand-written backward: rotate_half is a rotation, so
// its transpose is -rotate_half and dx = g * cos - rotate_half(g * sin). (Autograd through the
// narrow/cat would build zero-padded gradients for both halves and add them.)
class RopeFunction : public torch::autograd::Function<RopeFunction> {
 public:
  // x [B, H, T, D], cos/sin [B, 1, T, D] -> [B, H, T, D]
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& cos, const torch::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return torch::addcmul(x * cos, rotate_half(x), sin);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& grad = grad_outputs[0];
    return {torch::sub(grad * saved[0], rotate_half(grad * saved[1])), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin) {
  return RopeFunction::apply(x, cos.unsqueeze(1), sin.unsqueeze(1));
}

}  // namespace lethe::model
