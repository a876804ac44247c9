// grad_diff (GD): gradient ascent on the forget set plus gradient descent on the retain set
// (Liu et al. 2022; open-unlearning's GradDiff with retain_loss_type NLL).
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

ObjectiveSpec grad_diff_objective() {
  ObjectiveSpec spec;
  spec.name = "grad_diff";
  spec.description = "gradient difference: -forget_weight NLL(forget) + retain_weight NLL(retain)";
  spec.needs_retain = true;
  spec.defaults = {{"forget_weight", 1.0}, {"retain_weight", 1.0}};
  spec.retain_weight_param = "retain_weight";
  spec.check = [](const ObjectiveParams& p) {
    check_non_negative(p, "forget_weight", "grad_diff");
    check_non_negative(p, "retain_weight", "grad_diff");
  };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    check_side(in.forget, "grad_diff", "forget");
    ObjectiveOutput out;
    auto loss_forget = -mean_token_nll(in.forget, "grad_diff", "forget");
    out.parts["loss_forget"] = scalar(loss_forget);
    // GD: L = -gamma NLL(forget) + lambda NLL(retain).
    out.loss = add_defined(param(p, "forget_weight") * loss_forget,
                           weighted_retain_nll(in, param(p, "retain_weight"), "grad_diff", out));
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
