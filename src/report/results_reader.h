// Reads a run directory's result files (issue 8 layout) defensively: a missing or unreadable file
// is recorded in `missing`, never thrown, so the report renders what exists. Does not interpret
// metrics.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "eval/results_schema.h"

namespace lethe::report {

using json = nlohmann::json;

// One model of eval_results.json with the sweep facts (method, epochs) joined in when known.
struct ModelInfo {
  std::string name;
  std::string method;  // "finetuned", "retain_only", "base", or the sweep method (grad_ascent, ...)
  std::string intensity;  // the sweep config label (light, medium, heavy, ...) or ""
  std::optional<double> epochs;
  const json* aggregates = nullptr;  // models.NAME.aggregates (null when absent)
  const json* per_example = nullptr;
};

struct RunResults {
  std::filesystem::path run_dir;
  std::filesystem::path results_dir;
  json eval;         // eval_results.json or null
  json sweep_index;  // sweep_index.json (or sweep_results.json) or null
  json quantize;     // quantize_results.json or null
  json repr;         // repr_results.json or null
  std::vector<std::pair<std::string, json>>
      repr_layers;                                    // repr_results_<layer>.json, by layer_index
  std::vector<std::pair<std::string, json>> relearn;  // label -> relearn_results*.json
  json retain_compare;                                // retain_compare_results.json or null
  // Method -> the evaluation rows of its unlearning run (results/unlearn_metrics/METHOD.jsonl rows
  // with kind "eval"), by method name; only runs that evaluated during training.
  std::vector<std::pair<std::string, std::vector<json>>> training_evals;
  json config;  // config.yaml/config.json of the run (as text or JSON) or null
  std::string config_text;
  std::vector<std::string> found;  // relative paths read
  std::vector<std::string>
      missing;                    // "results/x.json (what it would give)" or "x: unreadable: why"
  std::vector<ModelInfo> models;  // eval models in file order
};

// Reads RUN_DIR (results in RUN_DIR/results, or RUN_DIR itself when it holds eval_results.json).
// Throws lethe::Error only when RUN_DIR does not exist or is not a folder.
RunResults read_run(const std::filesystem::path& run_dir);

// Number at a '/'-separated path ("forget/rouge_l_recall"), or nullopt: the results schema's
// reader, so every reader of results files shares one JSON-path helper.
using eval::schema::number_at;

// Splits "unlearn_grad_ascent_heavy" -> {"grad_ascent", "heavy"}; the last '_' part is the config.
std::pair<std::string, std::string> split_model_name(const std::string& name);

// Order of intensity labels for plots (light < medium < heavy; otherwise by epochs, then name).
int intensity_rank(const std::string& label);

}  // namespace lethe::report
