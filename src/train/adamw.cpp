// AdamW with fp32 state and named state dicts; global-norm gradient clipping.
#include "train/adamw.h"

#include <cmath>

#include "core/error.h"

namespace lethe::train {

AdamW::AdamW(NamedParameters params, const AdamWOptions& options)
    : params_(std::move(params)), options_(options) {
  LETHE_CHECK(options.beta1 >= 0.0 && options.beta1 < 1.0, "adam beta1 must be in [0, 1), got ",
              options.beta1);
  LETHE_CHECK(options.beta2 >= 0.0 && options.beta2 < 1.0, "adam beta2 must be in [0, 1), got ",
              options.beta2);
  LETHE_CHECK(options.eps > 0.0, "adam eps must be positive, got ", options.eps);
  LETHE_CHECK(options.weight_decay >= 0.0, "weight_decay must be >= 0, got ", options.weight_decay);
  LETHE_CHECK(!params_.empty(), "the optimizer has no trainable parameters");
  for (const auto& [name, p] : params_) {
    auto fp32 = p.options().dtype(torch::kFloat32).requires_grad(false);
    exp_avg_.push_back(torch::zeros(p.sizes(), fp32));
    exp_avg_sq_.push_back(torch::zeros(p.sizes(), fp32));
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(options_.beta2, static_cast<double>(step_)));
  const double step_size = lr / bias1;
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor p = params_[i].second;
    const torch::Tensor& grad_raw = p.grad();
    if (!grad_raw.defined()) continue;
    torch::Tensor grad = grad_raw.to(torch::kFloat32);
    const bool fp32 = p.scalar_type() == torch::kFloat32;
    torch::Tensor master = fp32 ? p : p.to(torch::kFloat32);
    if (options_.weight_decay > 0.0 && p.dim() >= 2) master.mul_(1.0 - lr * options_.weight_decay);
    exp_avg_[i].mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
    exp_avg_sq_[i].mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    torch::Tensor denom = (exp_avg_sq_[i].sqrt() / bias2_sqrt).add_(options_.eps);
    master.addcdiv_(exp_avg_[i], denom, -step_size);
    if (!fp32) p.copy_(master);
  }
}

void AdamW::zero_grad() {
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) {
      p.mutable_grad().detach_();
      p.mutable_grad().zero_();
    }
  }
}

std::map<std::string, torch::Tensor> AdamW::state_dict() const {
  std::map<std::string, torch::Tensor> state;
  for (size_t i = 0; i < params_.size(); ++i) {
    state[params_[i].first + ".exp_avg"] = exp_avg_[i];
    state[params_[i].first + ".exp_avg_sq"] = exp_avg_sq_[i];
  }
  state["step"] = torch::tensor(step_, torch::kInt64);
  return state;
}

void AdamW::load_state_dict(const std::map<std::string, torch::Tensor>& state,
                            const std::string& where) {
  auto get = [&](const std::string& key, const torch::Tensor& like) {
    auto it = state.find(key);
    LETHE_CHECK(it != state.end(), where, ": optimizer state '", key, "' missing");
    LETHE_CHECK(it->second.sizes() == like.sizes(), where, ": optimizer state '", key,
                "' has shape ", it->second.sizes(), ", expected ", like.sizes());
    return it->second;
  };
  auto step_it = state.find("step");
  LETHE_CHECK(step_it != state.end() && step_it->second.numel() == 1, where,
              ": optimizer state 'step' missing");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(get(params_[i].first + ".exp_avg", exp_avg_[i]));
    exp_avg_sq_[i].copy_(get(params_[i].first + ".exp_avg_sq", exp_avg_sq_[i]));
  }
  step_ = step_it->second.to(torch::kInt64).item<int64_t>();
  LETHE_CHECK(step_ >= 0, where, ": optimizer step must be >= 0, got ", step_);
}

double clip_grad_norm(const NamedParameters& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& [name, p] : params)
    if (p.grad().defined()) norms.push_back(p.grad().to(torch::kFloat32).norm());
  if (norms.empty()) return 0.0;
  const double total = torch::stack(norms).norm().item<double>();
  if (max_norm > 0.0 && total > max_norm) {
    const double coef = max_norm / (total + 1e-6);
    for (const auto& [name, p] : params)
      if (p.grad().defined()) p.grad().mul_(coef);
  }
  return total;
}

}  // namespace lethe::train
