// dpo: DPO (Rafailov et al. 2023) used for unlearning as in TOFU: the preferred answer is a refusal
// ("I don't know" variants, objectives/refusals.h), the rejected one the true forget answer.
#include "core/error.h"
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

torch::Tensor dpo_term(const torch::Tensor& logp_preferred, const torch::Tensor& logp_ref_preferred,
                       const torch::Tensor& logp_rejected, const torch::Tensor& logp_ref_rejected,
                       double beta) {
  // DPO: L = -mean log sigmoid(beta ((log pi(y_w) - log ref(y_w)) - (log pi(y_l) - log ref(y_l)))).
  auto ratio_w = logp_preferred - logp_ref_preferred.detach().to(logp_preferred.scalar_type());
  auto ratio_l = logp_rejected - logp_ref_rejected.detach().to(logp_rejected.scalar_type());
  return -torch::log_sigmoid(beta * (ratio_w - ratio_l)).mean();
}

torch::Tensor dpo_forget_loss(const ObjectiveInputs& in, double beta, const std::string& method,
                              ObjectiveOutput& out) {
  check_side(in.forget, method, "forget", kNeedsRef);
  check_side(in.preferred, method, "preferred", kNeedsRef);
  LETHE_CHECK(in.preferred.logp_token.size(0) == in.forget.logp_token.size(0), method,
              ": inputs.preferred has ", in.preferred.logp_token.size(0),
              " examples but inputs.forget has ", in.forget.logp_token.size(0),
              ": one refusal per forget question");
  auto logp_w = sequence_logp(in.preferred);
  auto logp_l = sequence_logp(in.forget);
  auto loss = dpo_term(logp_w, in.preferred.logp_ref, logp_l, in.forget.logp_ref, beta);
  out.parts["loss_forget"] = scalar(loss);
  out.parts["logratio_preferred"] = scalar((logp_w - in.preferred.logp_ref).mean());
  out.parts["logratio_rejected"] = scalar((logp_l - in.forget.logp_ref).mean());
  return loss;
}

ObjectiveSpec dpo_objective() {
  ObjectiveSpec spec;
  spec.name = "dpo";
  spec.description = "DPO with refusals preferred over the true forget answers";
  spec.needs_reference = true;
  spec.needs_preferred = true;
  spec.defaults = {{"beta", 0.1}};
  spec.check = [](const ObjectiveParams& p) { check_positive(p, "beta", "dpo"); };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    ObjectiveOutput out;
    out.loss = dpo_forget_loss(in, param(p, "beta"), "dpo", out);
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
