// Shared building blocks of the objectives (see terms.h).
#include "objectives/terms.h"

#include <cmath>

#include "core/error.h"

namespace lethe::objectives {
namespace {

torch::Tensor as_float(const torch::Tensor& t) {
  return t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble
             ? t
             : t.to(torch::kFloat);
}

torch::Tensor mask_of(const SideLogprobs& side) {
  return side.loss_mask.to(as_float(side.logp_token).scalar_type());
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

}  // namespace

void check_side(const SideLogprobs& side, const std::string& method, const std::string& side_name,
                SideNeeds needs) {
  const std::string where = method + ": inputs." + side_name;
  LETHE_CHECK(side.defined(), where, " is empty: the method needs a ", side_name, " batch");
  LETHE_CHECK(side.logp_token.dim() == 2, where, ".logp_token must be [B, T], got ",
              shape_of(side.logp_token));
  LETHE_CHECK(side.loss_mask.defined() && side.loss_mask.sizes() == side.logp_token.sizes(), where,
              ".loss_mask must have the shape of logp_token ", shape_of(side.logp_token), ", got ",
              side.loss_mask.defined() ? shape_of(side.loss_mask) : std::string("nothing"));
  const int64_t batch = side.logp_token.size(0);
  if (needs.logp_ref) {
    LETHE_CHECK(side.logp_ref.defined(), where,
                ".logp_ref is missing: the method needs the cached reference log-probs");
    LETHE_CHECK(side.logp_ref.dim() == 1 && side.logp_ref.size(0) == batch, where,
                ".logp_ref must be [B] with B = ", batch, ", got ", shape_of(side.logp_ref));
  }
  if (needs.logp_ref_token) {
    LETHE_CHECK(
        side.logp_ref_token.defined(), where,
        ".logp_ref_token is missing: the method needs the cached reference token log-probs");
    LETHE_CHECK(side.logp_ref_token.sizes() == side.logp_token.sizes(), where,
                ".logp_ref_token must have the shape of logp_token ", shape_of(side.logp_token),
                ", got ", shape_of(side.logp_ref_token));
  }
}

torch::Tensor sequence_logp(const SideLogprobs& side) {
  return (as_float(side.logp_token) * mask_of(side)).sum(1);
}

torch::Tensor answer_lengths(const SideLogprobs& side, const std::string& method,
                             const std::string& side_name) {
  auto lengths = mask_of(side).sum(1);
  auto empty = (lengths <= 0).nonzero();
  LETHE_CHECK(empty.size(0) == 0, method, ": inputs.", side_name, " example ",
              empty.size(0) ? empty[0][0].item<int64_t>() : 0,
              " has no answer tokens (loss_mask is 0)");
  return lengths;
}

torch::Tensor mean_token_nll(const SideLogprobs& side, const std::string& method,
                             const std::string& side_name) {
  auto mask = mask_of(side);
  double count = mask.sum().item<double>();
  LETHE_CHECK(count > 0, method, ": inputs.", side_name, " has no answer tokens (loss_mask is 0)");
  return -(as_float(side.logp_token) * mask).sum() / count;
}

torch::Tensor kl_ref_token(const SideLogprobs& side, const std::string& method,
                           const std::string& side_name) {
  auto mask = mask_of(side);
  double count = mask.sum().item<double>();
  LETHE_CHECK(count > 0, method, ": inputs.", side_name, " has no answer tokens (loss_mask is 0)");
  // k3 (Schulman 2020): unbiased for KL(ref || theta) when y ~ ref, and >= 0 for every sample.
  auto d = (as_float(side.logp_token) - as_float(side.logp_ref_token).detach()) * mask;
  return ((torch::exp(d) - 1 - d) * mask).sum() / count;
}

torch::Tensor masked_activation_mse(const torch::Tensor& h, const torch::Tensor& target,
                                    const torch::Tensor& mask) {
  auto hf = as_float(h);
  auto m = mask.to(hf.scalar_type());
  auto per_token = (hf - as_float(target).to(hf.device())).pow(2).mean(-1);  // [B, T]
  auto per_example = (per_token * m).sum(1) / m.sum(1).clamp_min(1.0);       // [B]
  return per_example.mean();
}

double param(const ObjectiveParams& params, const std::string& key) {
  auto it = params.find(key);
  LETHE_CHECK(it != params.end(), "objective parameter '", key, "' was not resolved");
  return it->second;
}

void check_positive(const ObjectiveParams& params, const std::string& key,
                    const std::string& method) {
  double v = param(params, key);
  if (!(std::isfinite(v) && v > 0))
    throw UsageError(detail::concat(method, ": parameter ", key, " must be > 0, got ", v));
}

void check_non_negative(const ObjectiveParams& params, const std::string& key,
                        const std::string& method) {
  double v = param(params, key);
  if (!(std::isfinite(v) && v >= 0))
    throw UsageError(detail::concat(method, ": parameter ", key, " must be >= 0, got ", v));
}

void check_integer(const ObjectiveParams& params, const std::string& key, const std::string& method,
                   double min_value) {
  double v = param(params, key);
  if (!(std::isfinite(v) && v == std::floor(v) && v >= min_value))
    throw UsageError(detail::concat(method, ": parameter ", key,
                                    " must be an integer >= ", min_value, ", got ", v));
}

torch::Tensor weighted_retain_nll(const ObjectiveInputs& inputs, double weight,
                                  const std::string& method, ObjectiveOutput& out) {
  if (weight == 0) return {};
  LETHE_CHECK(inputs.retain.defined(), method, ": inputs.retain is empty but retain_weight is ",
              weight, ": give a retain set or set retain_weight=0");
  check_side(inputs.retain, method, "retain");
  auto nll = mean_token_nll(inputs.retain, method, "retain");
  out.parts["loss_retain"] = scalar(nll);
  return weight * nll;
}

torch::Tensor weighted_retain_kl(const ObjectiveInputs& inputs, double weight,
                                 const std::string& method, ObjectiveOutput& out) {
  if (weight == 0) return {};
  LETHE_CHECK(inputs.retain.defined(), method, ": inputs.retain is empty but retain_weight is ",
              weight, ": give a retain set or set retain_weight=0");
  check_side(inputs.retain, method, "retain", kNeedsRefToken);
  auto kl = kl_ref_token(inputs.retain, method, "retain");
  out.parts["kl_retain"] = scalar(kl);
  return weight * kl;
}

torch::Tensor add_defined(const torch::Tensor& a, const torch::Tensor& b) {
  return b.defined() ? a + b : a;
}

double scalar(const torch::Tensor& t) { return t.detach().to(torch::kDouble).item<double>(); }

}  // namespace lethe::objectives
