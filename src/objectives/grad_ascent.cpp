// grad_ascent (GA): maximise the NLL of the forget answers (Jang et al. 2023; TOFU's grad_ascent).
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

ObjectiveSpec grad_ascent_objective() {
  ObjectiveSpec spec;
  spec.name = "grad_ascent";
  spec.description = "gradient ascent: minus the mean NLL of the forget answer tokens";
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams&) {
    check_side(in.forget, "grad_ascent", "forget");
    ObjectiveOutput out;
    auto nll = mean_token_nll(in.forget, "grad_ascent", "forget");
    // GA: L = -NLL(forget) = mean_t log p(y_t).
    out.loss = -nll;
    out.parts["loss_forget"] = scalar(out.loss);
    out.parts["nll_forget"] = scalar(nll);
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
