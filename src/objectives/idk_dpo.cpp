// idk_dpo: DPO with "I don't know" refusals preferred (TOFU / open-unlearning's DPO on the IDK
// alternate answers) plus the retain NLL.
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

ObjectiveSpec idk_dpo_objective() {
  ObjectiveSpec spec;
  spec.name = "idk_dpo";
  spec.description = "DPO (refusals preferred) + retain_weight NLL(retain)";
  spec.needs_retain = true;
  spec.needs_reference = true;
  spec.needs_preferred = true;
  spec.defaults = {{"beta", 0.1}, {"forget_weight", 1.0}, {"retain_weight", 1.0}};
  spec.retain_weight_param = "retain_weight";
  spec.check = [](const ObjectiveParams& p) {
    check_positive(p, "beta", "idk_dpo");
    check_non_negative(p, "forget_weight", "idk_dpo");
    check_non_negative(p, "retain_weight", "idk_dpo");
  };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    ObjectiveOutput out;
    auto forget = dpo_forget_loss(in, param(p, "beta"), "idk_dpo", out);
    out.loss = add_defined(param(p, "forget_weight") * forget,
                           weighted_retain_nll(in, param(p, "retain_weight"), "idk_dpo", out));
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
