// LoraLinear: base projection + optional LoRA term (one fused autograd node for the projections of
// one input), merge/unmerge, enabled switch.
#include "model/lora_linear.h"

#include <cmath>

#include "core/error.h"
#include "core/torch_compat.h"

namespace lethe::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Projections that read the same input x (q/k/v, or gate/up), each y_i = x W_i^T + b_i +
// s_i (x A_i^T) B_i^T, as one autograd node with forward and backward written as a pair:
// - the A_i run as one GEMM on the concatenated [R, in] A (R = sum of ranks);
// - the LoRA term goes into the base output inside a GEMM (addmm_, beta 1, alpha s_i) and every
//   input-gradient term accumulates into one [N, in] buffer the same way, where the composite ops
//   would spend a multiply and an add on each [N, out] and [N, in] tensor and autograd another add
//   per projection sharing x.
// With a bf16 base and fp32 adapters, xa = x A^T and the adapter gradients are computed in fp32;
// the two rank-R products that land in bf16 tensors (the LoRA term of y, its part of dx) run as
// bf16 GEMMs with fp32 accumulation instead of fp32 GEMMs rounded afterwards (same error size:
// one bf16 rounding of the term). Shapes: N rows (all leading dims of x), R total rank.
class SharedInputLoraFunction : public torch::autograd::Function<SharedInputLoraFunction> {
 public:
  // x [..., in]; weights[i] [out_i, in], lora_As[i] [r_i, in], lora_Bs[i] [out_i, r_i];
  // biases: none or one [out_i] per projection -> {y_i [..., out_i]}
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x,
                               torch::TensorList weights, torch::TensorList lora_As,
                               torch::TensorList lora_Bs, torch::TensorList biases,
                               const std::vector<double>& scalings) {
    const int64_t in = x.size(-1);
    torch::Tensor x2 = x.reshape({-1, in});                  // [N, in]
    torch::Tensor x_lora = x2.to(lora_As[0].scalar_type());  // [N, in]
    torch::Tensor lora_A = torch::cat(lora_As);              // [R, in]
    torch::Tensor xa = torch::mm(x_lora, lora_A.t());        // [N, R]
    // The rank-R term in the base dtype: fp32 stays fp32, bf16 base -> bf16 GEMM.
    torch::Tensor xa_base = xa.to(x.scalar_type());  // [N, R]
    variable_list outputs;
    int64_t offset = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      const int64_t r = lora_As[i].size(0);
      torch::Tensor y = biases.empty() ? torch::mm(x2, weights[i].t())  // [N, out_i]
                                       : torch::addmm(biases[i], x2, weights[i].t());
      y.addmm_(xa_base.narrow(1, offset, r), lora_Bs[i].to(y.scalar_type()).t(), 1.0, scalings[i]);
      std::vector<int64_t> sizes = x.sizes().vec();
      sizes.back() = y.size(1);
      outputs.push_back(y.view(sizes));
      offset += r;
    }
    variable_list saved = {x2, x_lora, lora_A, xa};
    saved.insert(saved.end(), weights.begin(), weights.end());
    saved.insert(saved.end(), lora_Bs.begin(), lora_Bs.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["scalings"] = scalings;
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->saved_data["has_bias"] = !biases.empty();
    return outputs;
  }

  // grads {g_i [..., out_i]} -> grads of x, weights, lora_As, lora_Bs, biases (undefined where not
  // needed), and none for scalings
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &x2 = saved[0], &x_lora = saved[1], &lora_A = saved[2], &xa = saved[3];
    const size_t n = grad_outputs.size();
    const std::vector<double> scalings = ctx->saved_data["scalings"].toDoubleVector();
    const bool has_bias = ctx->saved_data["has_bias"].toBool();
    auto weight = [&](size_t i) -> const torch::Tensor& { return saved[4 + i]; };
    auto lora_B = [&](size_t i) -> const torch::Tensor& { return saved[4 + n + i]; };
    auto needs = [&](size_t edge) { return ctx->needs_input_grad(edge); };

    variable_list grads(1 + 3 * n + (has_bias ? n : 0) + 1);
    torch::Tensor grad_xa = torch::empty_like(xa);  // [N, R] adapter dtype
    torch::Tensor grad_x;                           // [N, in] base dtype
    int64_t offset = 0;
    for (size_t i = 0; i < n; ++i) {
      const int64_t r = lora_B(i).size(1);
      torch::Tensor grad = grad_outputs[i].reshape({-1, weight(i).size(0)});  // [N, out_i]
      torch::Tensor grad_lora = grad.to(xa.scalar_type());                    // [N, out_i]
      torch::Tensor xa_i = xa.narrow(1, offset, r);                           // [N, r_i]
      torch::Tensor grad_xa_i = grad_xa.narrow(1, offset, r);
      torch::mm_out(grad_xa_i, grad_lora, lora_B(i)).mul_(scalings[i]);
      if (needs(1 + 2 * n + i))  // lora_B: (xa^T g)^T, the faster GEMM orientation for small r
        grads[1 + 2 * n + i] = torch::mm(xa_i.t(), grad_lora).t().mul_(scalings[i]);
      if (needs(0)) {
        if (grad_x.defined()) {
          grad_x.addmm_(grad, weight(i));
        } else {
          grad_x = torch::mm(grad, weight(i));
        }
      }
      if (needs(1 + i)) grads[1 + i] = torch::mm(grad.t(), x2);
      if (has_bias && needs(1 + 3 * n + i)) grads[1 + 3 * n + i] = grad.sum(0);
      offset += r;
    }
    torch::Tensor grad_A = torch::mm(grad_xa.t(), x_lora);  // [R, in]
    offset = 0;
    for (size_t i = 0; i < n; ++i) {
      const int64_t r = lora_B(i).size(1);
      if (needs(1 + n + i)) grads[1 + n + i] = grad_A.narrow(0, offset, r);
      offset += r;
    }
    if (needs(0)) {
      const auto dtype = grad_x.scalar_type();
      grad_x.addmm_(grad_xa.to(dtype), lora_A.to(dtype));
      grads[0] = grad_x.view(ctx->saved_data["x_sizes"].toIntVector());
    }
    return grads;
  }
};

// Autocast casts the inputs of each op it sees; the fused node runs in-place GEMMs that it would
// not cast, so under autocast the LoRA term goes through the plain ops.
bool autocast_enabled(const torch::Device& device) { return compat::autocast_enabled(device.type()); }

// Runs SharedInputLoraFunction on projections that all pass runs_fused().
std::vector<torch::Tensor> apply_shared_input(const std::vector<LoraLinearImpl*>& projections,
                                              const torch::Tensor& x) {
  std::vector<torch::Tensor> weights, lora_As, lora_Bs, biases;
  std::vector<double> scalings;
  for (const LoraLinearImpl* p : projections) {
    weights.push_back(p->weight);
    lora_As.push_back(p->lora_A);
    lora_Bs.push_back(p->lora_B);
    if (p->bias.defined()) biases.push_back(p->bias);
    scalings.push_back(p->scaling());
  }
  return SharedInputLoraFunction::apply(x, torch::TensorList(weights), torch::TensorList(lora_As),
                                        torch::TensorList(lora_Bs), torch::TensorList(biases),
                                        scalings);
}

}  // namespace

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
  if (!lora_A.defined() || !enabled_ || merged_) return torch::linear(x, weight, bias);
  if (runs_fused(x)) return apply_shared_input({this}, x)[0];
  torch::Tensor y = torch::linear(x, weight, bias);
  torch::Tensor h = x.scalar_type() == lora_A.scalar_type() ? x : x.to(lora_A.scalar_type());
  if (options_.lora_dropout > 0.0) h = torch::dropout(h, options_.lora_dropout, is_training());
  torch::Tensor lora = torch::linear(torch::linear(h, lora_A), lora_B) * scaling_;  // [..., out]
  return y + lora.to(y.scalar_type());
}

bool LoraLinearImpl::runs_fused(const torch::Tensor& x) const {
  return lora_A.defined() && enabled_ && !merged_ &&
         !(options_.lora_dropout > 0.0 && is_training()) && !autocast_enabled(x.device());
}

std::vector<torch::Tensor> forward_shared_input(const torch::Tensor& x,
                                                const std::vector<LoraLinearImpl*>& projections) {
  bool fused = true;
  for (const LoraLinearImpl* p : projections) {
    fused = fused && p->runs_fused(x) &&
            p->lora_A.scalar_type() == projections[0]->lora_A.scalar_type() &&
            p->bias.defined() == projections[0]->bias.defined();
  }
  if (fused) return apply_shared_input(projections, x);
  std::vector<torch::Tensor> outputs;
  for (LoraLinearImpl* p : projections) outputs.push_back(p->forward(x));
  return outputs;
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
