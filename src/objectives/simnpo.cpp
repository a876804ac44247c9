// simnpo: SimNPO (Fan et al. 2024, "Simplicity Prevails: Rethinking Negative Preference
// Optimization for LLM Unlearning"): reference-free, length-normalised NPO with a margin, plus a
// retain NLL term.
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

torch::Tensor simnpo_term(const torch::Tensor& logp, const torch::Tensor& lengths, double beta,
                          double gamma) {
  // SimNPO: L = -(2/beta) mean log sigmoid(-(beta/|y|) log pi_theta(y|x) - gamma).
  return -(2.0 / beta) * torch::log_sigmoid(-(beta / lengths) * logp - gamma).mean();
}

ObjectiveSpec simnpo_objective() {
  ObjectiveSpec spec;
  spec.name = "simnpo";
  spec.description =
      "SimNPO: -(2/beta) mean log sigmoid(-(beta/|y|) log pi - gamma) + retain_weight NLL(retain)";
  spec.needs_retain = true;
  spec.defaults = {{"beta", 2.5}, {"gamma", 0.0}, {"forget_weight", 1.0}, {"retain_weight", 1.0}};
  spec.retain_weight_param = "retain_weight";
  spec.check = [](const ObjectiveParams& p) {
    check_positive(p, "beta", "simnpo");
    check_non_negative(p, "forget_weight", "simnpo");
    check_non_negative(p, "retain_weight", "simnpo");
  };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    check_side(in.forget, "simnpo", "forget");
    ObjectiveOutput out;
    auto lengths = answer_lengths(in.forget, "simnpo", "forget");
    auto logp = sequence_logp(in.forget);
    auto forget = simnpo_term(logp, lengths, param(p, "beta"), param(p, "gamma"));
    out.parts["loss_forget"] = scalar(forget);
    out.parts["nll_forget"] = scalar(-(logp / lengths).mean());
    out.loss = add_defined(param(p, "forget_weight") * forget,
                           weighted_retain_nll(in, param(p, "retain_weight"), "simnpo", out));
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
