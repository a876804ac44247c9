// Built-in profiles and merging of `lethe run` configs (see run_config.h and docs/run.md).
#include "pipeline/run_config.h"

#include "core/error.h"
#include "train/config_file.h"

namespace lethe::pipeline {

using json = nlohmann::json;

json default_run_config() {
  return json::parse(R"({
    "seed": 42,
    "model": "models/lethe-base",
    "dtype": "float32",
    "device": "cpu",
    "max_length": 256,
    "data": {"targets": 10, "background": 50, "holdout": 10, "sf_per_target": 4,
             "correlated_per_target": 4, "other_per_target": 6, "world_country_qa": 60},
    "finetune": {"learning_rate": 1e-3, "epochs": 20, "batch_size": 8, "lr_scheduler": "cosine",
                 "lora": {"r": 16, "lora_alpha": 32}},
    "retain_only": {},
    "unlearn": {"learning_rate": 1e-4, "batch_size": 8, "lr_scheduler": "constant",
                "intensities": {"light": 5, "medium": 10, "heavy": 20},
                "methods": {"grad_ascent": {}, "grad_diff": {}, "npo": {"beta": 0.1}}},
    "eval": {"max_new_tokens": 32, "batch_size": 64, "limit": 0},
    "quantize": {"schemes": ["int8", "int4_g128_sym", "nf4"], "models": "heavy"},
    "relearn": {"set": "forget", "examples": 8, "steps": [5, 10, 20], "learning_rate": 1e-4,
                "models": "heavy"},
    "repr": {"layers": ["last", "middle", "all"], "limit": 0}
  })");
}

json quick_overlay() {
  // The same benchmark as the default (the shipped base model knows its world), fewer and shorter
  // unlearning runs, and every model evaluated on the first 20 questions of each set (batches of
  // 16: with sets this small, the default's 64 was measured no faster).
  return json::parse(R"({
    "finetune": {"learning_rate": 2e-3, "epochs": 10},
    "unlearn": {"learning_rate": 1e-3, "intensities": {"light": 1, "medium": 2, "heavy": 4}},
    "eval": {"max_new_tokens": 16, "batch_size": 16, "limit": 20},
    "quantize": {"schemes": ["int8", "nf4"]},
    "relearn": {"examples": 4, "steps": [2, 4]},
    "repr": {"layers": ["last", "all"], "limit": 20}
  })");
}

json merge_config(json base, const json& over) {
  if (!base.is_object() || !over.is_object()) return over;
  for (auto it = over.begin(); it != over.end(); ++it) {
    // Method and intensity tables are replaced whole: listing methods selects them.
    if (base.contains(it.key()) && it.key() != "methods" && it.key() != "intensities")
      base[it.key()] = merge_config(base[it.key()], it.value());
    else
      base[it.key()] = it.value();
  }
  return base;
}

void check_run_config(const json& config, const std::string& where) {
  LETHE_CHECK(config.is_object(), where, ": the config must be a mapping");
  static const std::vector<std::string> scalars = {"seed", "model", "dtype", "device",
                                                   "max_length"};
  static const std::vector<std::string> sections = {
      "data", "finetune", "retain_only", "unlearn", "eval", "quantize", "relearn", "repr", "audit"};
  for (auto it = config.begin(); it != config.end(); ++it) {
    const bool scalar = std::find(scalars.begin(), scalars.end(), it.key()) != scalars.end();
    const bool section = std::find(sections.begin(), sections.end(), it.key()) != sections.end();
    if (!scalar && !section) {
      std::string valid;
      for (const auto& k : scalars) valid += " " + k;
      for (const auto& k : sections) valid += " " + k;
      LETHE_FAIL(where, ": unknown key '", it.key(), "' (valid:", valid, ")");
    }
    if (section)
      LETHE_CHECK(it.value().is_object() || it.value().is_null(), where, ": '", it.key(),
                  "' must be a mapping");
  }
  LETHE_CHECK(config.contains("model") && config["model"].is_string(), where,
              ": 'model' must be a string (a model folder or HF id)");
  LETHE_CHECK(config["seed"].is_number_integer(), where, ": 'seed' must be an integer");
  const auto& unlearn = config["unlearn"];
  LETHE_CHECK(
      unlearn.contains("methods") && unlearn["methods"].is_object() && !unlearn["methods"].empty(),
      where, ": unlearn.methods must be a non-empty mapping {method: {params}}");
  LETHE_CHECK(unlearn.contains("intensities") && unlearn["intensities"].is_object() &&
                  !unlearn["intensities"].empty(),
              where, ": unlearn.intensities must be a non-empty mapping {label: epochs}");
  for (auto it = unlearn["intensities"].begin(); it != unlearn["intensities"].end(); ++it)
    LETHE_CHECK(it.value().is_number_integer() && it.value().get<int64_t>() >= 1, where,
                ": unlearn.intensities.", it.key(), " must be a positive number of epochs");
}

json resolve_run_config(const std::optional<std::filesystem::path>& file, bool quick) {
  json config = default_run_config();
  if (quick) config = merge_config(config, quick_overlay());
  std::string where = "built-in profile";
  if (file) {
    json user = train::read_config_file(*file);
    where = file->string();
    check_run_config(merge_config(default_run_config(), user), where);
    config = merge_config(config, user);
  }
  for (auto& section : {"retain_only"})
    if (config[section].is_null()) config[section] = json::object();
  check_run_config(config, where);
  return config;
}

}  // namespace lethe::pipeline
