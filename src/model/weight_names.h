// The weights a config's model holds, named as the checkpoint keys
// (model.layers.3.mlp.up_proj.weight) with their shapes: what a checkpoint must contain, checked
// without building the model
// (`lethe inspect`). Mirrors the module constructors; tests/model/weight_names_test.cpp holds it to
// CausalLM's named_parameters().
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace lethe::model {

// Checkpoint key -> shape of every base weight (no LoRA) of the CausalLM `config` builds.
std::map<std::string, std::vector<int64_t>> expected_weight_shapes(const ModelConfig& config);

// True for a checkpoint key the loader accepts without a weight of its own: the rotary inverse
// frequencies old HF versions stored, and a tied model's lm_head.weight (the embedding twice).
bool is_ignored_checkpoint_key(const std::string& name, const ModelConfig& config);

// The checkpoint's keys against the config's: what is missing, unexpected or of another shape.
struct WeightCheck {
  std::vector<std::string> missing;      // expected, not in the checkpoint
  std::vector<std::string> unexpected;   // in the checkpoint, not used by the model
  std::vector<std::string> wrong_shape;  // "NAME: [a, b] in the checkpoint, config expects [c, d]"
  bool ok() const { return missing.empty() && unexpected.empty() && wrong_shape.empty(); }
};
WeightCheck check_weight_names(const ModelConfig& config,
                               const std::map<std::string, std::vector<int64_t>>& stored);

}  // namespace lethe::model
