// sft: supervised fine-tuning, the mean NLL of the answer tokens (the fine-tuning objective).
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {

ObjectiveSpec sft_objective() {
  ObjectiveSpec spec;
  spec.name = "sft";
  spec.description = "fine-tuning: mean NLL of the answer tokens";
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams&) {
    check_side(in.forget, "sft", "forget");
    ObjectiveOutput out;
    // HF causal-LM loss: -sum_{b,t} mask * log p / sum mask.
    out.loss = mean_token_nll(in.forget, "sft", "forget");
    out.parts["loss_forget"] = scalar(out.loss);
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
