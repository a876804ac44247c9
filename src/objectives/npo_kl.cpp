// npo_kl: NPO on the forget set plus KL(pi_ref || pi_theta) on the retain target tokens (Zhang et
// al. 2024's NPO+KL), with the per-token k3 estimator of objectives/terms.h.
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

ObjectiveSpec npo_kl_objective() {
  ObjectiveSpec spec;
  spec.name = "npo_kl";
  spec.description = "NPO + retain_weight KL(ref || theta) on retain tokens (k3 estimator)";
  spec.needs_retain = true;
  spec.needs_reference = true;
  spec.defaults = {{"beta", 0.1}, {"forget_weight", 1.0}, {"retain_weight", 1.0}};
  spec.retain_weight_param = "retain_weight";
  spec.check = [](const ObjectiveParams& p) {
    check_positive(p, "beta", "npo_kl");
    check_non_negative(p, "forget_weight", "npo_kl");
    check_non_negative(p, "retain_weight", "npo_kl");
  };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    ObjectiveOutput out;
    out.loss = param(p, "forget_weight") * npo_forget_loss(in, param(p, "beta"), "npo_kl", out);
    out.loss =
        add_defined(out.loss, weighted_retain_kl(in, param(p, "retain_weight"), "npo_kl", out));
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
