// npo: Negative Preference Optimization (Zhang et al. 2024, "Negative Preference Optimization: from
// catastrophic collapse to effective unlearning"), the forget term alone; the reference is cached.
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

torch::Tensor npo_term(const torch::Tensor& logp, const torch::Tensor& logp_ref, double beta) {
  // NPO: L = -(2/beta) mean log sigmoid(-beta (log pi_theta(y|x) - log pi_ref(y|x))); its gradient
  // is 2 sigmoid(beta delta) / B times the gradient of log pi_theta (GA's, reweighted).
  auto delta = logp - logp_ref.detach().to(logp.scalar_type());
  return -(2.0 / beta) * torch::log_sigmoid(-beta * delta).mean();
}

torch::Tensor npo_forget_loss(const ObjectiveInputs& in, double beta, const std::string& method,
                              ObjectiveOutput& out) {
  check_side(in.forget, method, "forget", kNeedsRef);
  auto logp = sequence_logp(in.forget);
  auto loss = npo_term(logp, in.forget.logp_ref, beta);
  out.parts["loss_forget"] = scalar(loss);
  out.parts["logratio_forget"] = scalar((logp - in.forget.logp_ref.to(logp.scalar_type())).mean());
  return loss;
}

ObjectiveSpec npo_objective() {
  ObjectiveSpec spec;
  spec.name = "npo";
  spec.description =
      "NPO: -(2/beta) mean log sigmoid(-beta (log pi - log pi_ref)) on forget answers";
  spec.needs_reference = true;
  spec.defaults = {{"beta", 0.1}};
  spec.check = [](const ObjectiveParams& p) { check_positive(p, "beta", "npo"); };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    ObjectiveOutput out;
    out.loss = npo_forget_loss(in, param(p, "beta"), "npo", out);
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
