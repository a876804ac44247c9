// npo_gd: NPO on the forget set plus the retain NLL (Zhang et al. 2024's NPO+RT; open-unlearning's
// NPO with retain_loss_type NLL).
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

ObjectiveSpec npo_gd_objective() {
  ObjectiveSpec spec;
  spec.name = "npo_gd";
  spec.description = "NPO + retain_weight NLL(retain)";
  spec.needs_retain = true;
  spec.needs_reference = true;
  spec.defaults = {{"beta", 0.1}, {"forget_weight", 1.0}, {"retain_weight", 1.0}};
  spec.retain_weight_param = "retain_weight";
  spec.check = [](const ObjectiveParams& p) {
    check_positive(p, "beta", "npo_gd");
    check_non_negative(p, "forget_weight", "npo_gd");
    check_non_negative(p, "retain_weight", "npo_gd");
  };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    ObjectiveOutput out;
    auto forget = npo_forget_loss(in, param(p, "beta"), "npo_gd", out);
    out.loss = add_defined(param(p, "forget_weight") * forget,
                           weighted_retain_nll(in, param(p, "retain_weight"), "npo_gd", out));
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
