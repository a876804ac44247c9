// ga_kl: gradient ascent on the forget set plus KL(pi_ref || pi_theta) on the retain set (TOFU's KL
// method), the KL estimated on the retain target tokens from cached reference token log-probs.
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

ObjectiveSpec ga_kl_objective() {
  ObjectiveSpec spec;
  spec.name = "ga_kl";
  spec.description =
      "gradient ascent + retain_weight KL(ref || theta) on retain tokens (k3 estimator)";
  spec.needs_retain = true;
  spec.needs_reference = true;
  spec.defaults = {{"forget_weight", 1.0}, {"retain_weight", 1.0}};
  spec.retain_weight_param = "retain_weight";
  spec.check = [](const ObjectiveParams& p) {
    check_non_negative(p, "forget_weight", "ga_kl");
    check_non_negative(p, "retain_weight", "ga_kl");
  };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    check_side(in.forget, "ga_kl", "forget");
    ObjectiveOutput out;
    auto loss_forget = -mean_token_nll(in.forget, "ga_kl", "forget");
    out.parts["loss_forget"] = scalar(loss_forget);
    out.loss = param(p, "forget_weight") * loss_forget;
    out.loss =
        add_defined(out.loss, weighted_retain_kl(in, param(p, "retain_weight"), "ga_kl", out));
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
