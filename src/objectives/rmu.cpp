// rmu: Representation Misdirection for Unlearning (Li et al. 2024, "The WMDP Benchmark"): steer the
// layer-l activations of forget tokens toward c*u, keep retain activations at the frozen model's.
#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {
namespace {

// Decoder layer l's output from a side's hidden states (HF layout: entry l + 1).
const torch::Tensor& layer_output(const std::vector<torch::Tensor>& states, int64_t layer,
                                  const std::string& field) {
  const size_t index = static_cast<size_t>(layer) + 1;
  LETHE_CHECK(states.size() > index && states[index].defined(), "rmu: parameter layer is ", layer,
              " but inputs.", field, " has ", states.size(), " entries",
              states.size() >= 2
                  ? detail::concat(" (a model with ", states.size() - 1,
                                   " decoder layers: layer 0..", states.size() - 2, ")")
                  : std::string(" (the loop must fill hidden states for RMU)"),
              states.size() > index ? ": that entry is undefined" : "");
  LETHE_CHECK(states[index].dim() == 3, "rmu: inputs.", field, "[", index, "] must be [B, T, C]");
  return states[index];
}

}  // namespace

torch::Tensor rmu_direction(int64_t hidden_size, uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  auto r = torch::rand({hidden_size}, generator, torch::dtype(torch::kFloat));
  return r / r.norm();
}

std::vector<int64_t> rmu_updated_layers(const ObjectiveParams& params) {
  const auto layer = static_cast<int64_t>(param(params, "layer"));
  const auto count = static_cast<int64_t>(param(params, "num_updated_layers"));
  std::vector<int64_t> layers;
  for (int64_t l = std::max<int64_t>(0, layer - count + 1); l <= layer; ++l) layers.push_back(l);
  return layers;
}

ObjectiveSpec rmu_objective() {
  ObjectiveSpec spec;
  spec.name = "rmu";
  spec.description =
      "RMU: forget activations at layer l -> steering_coeff*u, retain activations -> frozen "
      "model's";
  spec.needs_retain = true;
  spec.needs_hidden_states = true;
  // WMDP's defaults (unlearn.py): layer_id 7, layer_ids 5,6,7, steering_coeff 20, alpha 100.
  spec.defaults = {{"layer", 7.0},   {"num_updated_layers", 3.0}, {"steering_coeff", 20.0},
                   {"alpha", 100.0}, {"forget_weight", 1.0},      {"seed", 0.0}};
  spec.retain_weight_param = "alpha";
  spec.hidden_layers = [](const ObjectiveParams& p) {
    return std::vector<int64_t>{static_cast<int64_t>(param(p, "layer"))};
  };
  spec.trained_layers = rmu_updated_layers;
  spec.check = [](const ObjectiveParams& p) {
    check_integer(p, "layer", "rmu", 0);
    check_integer(p, "num_updated_layers", "rmu", 1);
    check_positive(p, "steering_coeff", "rmu");
    check_non_negative(p, "alpha", "rmu");
    check_non_negative(p, "forget_weight", "rmu");
    check_integer(p, "seed", "rmu", 0);
  };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams& p) {
    check_side(in.forget, "rmu", "forget");
    const auto layer = static_cast<int64_t>(param(p, "layer"));
    const auto& h_forget = layer_output(in.forget.hidden_states, layer, "forget.hidden_states");
    answer_lengths(in.forget, "rmu", "forget");
    // RMU: L = mean ||h_l(forget) - c u||^2 / C + alpha mean ||h_l(retain) - h_l^frozen(retain)||^2
    // / C, each averaged over the answer tokens of an example, then over examples.
    auto control = param(p, "steering_coeff") *
                   rmu_direction(h_forget.size(-1), static_cast<uint64_t>(param(p, "seed")));
    auto forget = masked_activation_mse(h_forget, control, in.forget.loss_mask);
    ObjectiveOutput out;
    out.parts["loss_forget"] = scalar(forget);
    out.loss = param(p, "forget_weight") * forget;
    const double alpha = param(p, "alpha");
    if (alpha != 0) {
      LETHE_CHECK(in.retain.defined(), "rmu: inputs.retain is empty but alpha is ", alpha,
                  ": give a retain set or set alpha=0");
      check_side(in.retain, "rmu", "retain");
      const auto& h_retain = layer_output(in.retain.hidden_states, layer, "retain.hidden_states");
      const auto& h_frozen = layer_output(in.retain.hidden_ref, layer, "retain.hidden_ref");
      LETHE_CHECK(h_frozen.sizes() == h_retain.sizes(),
                  "rmu: inputs.retain.hidden_ref and hidden_states differ in shape");
      answer_lengths(in.retain, "rmu", "retain");
      auto retain = masked_activation_mse(h_retain, h_frozen.detach(), in.retain.loss_mask);
      out.parts["loss_retain"] = scalar(retain);
      out.loss = out.loss + alpha * retain;
    }
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
