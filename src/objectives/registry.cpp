// The explicit objective registry: one line per method (no static self-registration), parameter
// resolution against each spec's defaults, and the retain-set requirement.
#include <sstream>

#include "core/error.h"
#include "objectives/methods.h"
#include "objectives/objective.h"

namespace lethe::objectives {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
  return out.str();
}

// Every loss and layer choice resolves its params first, so callers may pass only the keys they
// override.
ObjectiveSpec with_resolved_params(ObjectiveSpec spec) {
  ObjectiveSpec bare = spec;
  bare.loss = nullptr;
  bare.trained_layers = nullptr;
  auto raw = std::move(spec.loss);
  spec.loss = [bare, raw](const ObjectiveInputs& inputs, const ObjectiveParams& given) {
    return raw(inputs, resolve_params(bare, given));
  };
  if (auto layers = std::move(spec.trained_layers))
    spec.trained_layers = [bare, layers](const ObjectiveParams& given) {
      return layers(resolve_params(bare, given));
    };
  return spec;
}

}  // namespace

const std::vector<ObjectiveSpec>& all_objectives() {
  static const std::vector<ObjectiveSpec> specs = [] {
    std::vector<ObjectiveSpec> list = {
        sft_objective(),         grad_ascent_objective(), grad_diff_objective(), ga_kl_objective(),
        npo_objective(),         npo_gd_objective(),      npo_kl_objective(),    simnpo_objective(),
        dpo_objective(),         idk_dpo_objective(),     rt_objective(),        rmu_objective(),
        task_vector_objective(),
    };
    for (auto& spec : list) spec = with_resolved_params(std::move(spec));
    return list;
  }();
  return specs;
}

std::vector<std::string> objective_names() {
  std::vector<std::string> names;
  for (const auto& spec : all_objectives()) names.push_back(spec.name);
  return names;
}

const ObjectiveSpec& find_objective(const std::string& name) {
  for (const auto& spec : all_objectives())
    if (spec.name == name) return spec;
  throw UsageError(
      detail::concat("unknown method '", name, "'; valid methods: ", join(objective_names())));
}

ObjectiveParams resolve_params(const ObjectiveSpec& spec, const ObjectiveParams& given) {
  ObjectiveParams resolved = spec.defaults;
  for (const auto& [key, value] : given) {
    if (!spec.defaults.count(key)) {
      std::vector<std::string> valid;
      for (const auto& [k, v] : spec.defaults) valid.push_back(k);
      throw UsageError(detail::concat(spec.name, ": unknown parameter '", key, "'; ",
                                      valid.empty() ? std::string("the method takes no parameters")
                                                    : "valid parameters: " + join(valid)));
    }
    resolved[key] = value;
  }
  if (spec.check) spec.check(resolved);
  return resolved;
}

bool requires_retain(const ObjectiveSpec& spec, const ObjectiveParams& resolved) {
  if (spec.retain_weight_param.empty()) return spec.needs_retain;
  auto it = resolved.find(spec.retain_weight_param);
  const double weight =
      it != resolved.end() ? it->second : spec.defaults.at(spec.retain_weight_param);
  return weight != 0;
}

}  // namespace lethe::objectives
