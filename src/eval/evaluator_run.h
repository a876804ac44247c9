// One `lethe eval` run: loads the model, tokenizer and dataset, evaluates the base, each adapter,
// the retain-only model and ICU, and writes the results file (atomically, only when complete).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/evaluator.h"

namespace lethe::eval {

struct EvalRunConfig {
  std::string model;                  // model folder or HF-cache id (with its tokenizer)
  std::vector<std::string> adapters;  // PEFT folders, evaluated in order after the base model
  std::vector<std::string> names;     // one per adapter (default: the folder's name)
  std::string retain_model;           // PEFT folder of the retain-only model ("" = none)
  bool icu = false;                   // also evaluate the base model prompted for ICU
  bool skip_base = false;             // do not evaluate the base model itself
  std::string data;                   // dataset folder
  std::string out;                    // results JSON ("" = do not write)
  std::string dtype = "float32";
  std::string device = "cpu";
  EvalOptions options;
};

// Runs everything and returns the results document (docs/evaluation.md); writes it to config.out.
nlohmann::json run_evaluation(const EvalRunConfig& config);

// The specs a config asks for, in evaluation order (base, adapters, retain-only, icu), names
// unique.
std::vector<ModelSpec> model_specs(const EvalRunConfig& config);

}  // namespace lethe::eval
