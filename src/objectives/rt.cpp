// rt: rejection tuning, supervised fine-tuning on refusals for the forget questions (TOFU's "idk"
// baseline when retain_weight > 0). Reads the preferred side, not the forget answers.
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

ObjectiveSpec rt_objective() {
  ObjectiveSpec spec;
  spec.name = "rt";
  spec.description = "rejection tuning: NLL of refusal answers to forget questions (+ retain NLL)";
  spec.needs_preferred = true;
  spec.defaults = {{"forget_weight", 1.0}, {"retain_weight", 0.0}};
  spec.retain_weight_param = "retain_weight";
  spec.check = [](const ObjectiveParams& p) {
    check_non_negative(p, "forget_weight", "rt");
    check_non_negative(p, "retain_weight", "rt");
  };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    check_side(in.preferred, "rt", "preferred");
    ObjectiveOutput out;
    auto nll = mean_token_nll(in.preferred, "rt", "preferred");
    out.parts["loss_forget"] = scalar(nll);
    out.loss = add_defined(param(p, "forget_weight") * nll,
                           weighted_retain_nll(in, param(p, "retain_weight"), "rt", out));
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
