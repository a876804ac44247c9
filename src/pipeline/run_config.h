// The `lethe run` configuration: one YAML document with a section per stage (configs/default.yaml),
// the built-in default and quick profiles, the deep merge of a user file over them, and its parse
// into typed sections, validated whole before the first stage runs (docs/run.md).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "report/audit.h"
#include "train/config_file.h"
#include "train/finetune.h"
#include "train/unlearn.h"

namespace lethe::pipeline {

// The default profile (configs/default.yaml holds the same values).
nlohmann::json default_run_config();

// What --quick changes on top of the default profile (configs/quick.yaml = default + this).
nlohmann::json quick_overlay();

// `over` merged into `base`: objects key by key, everything else replaced.
nlohmann::json merge_config(nlohmann::json base, const nlohmann::json& over);

// Where the keys of a resolved config came from, so that an error names FILE:LINE.
struct ConfigOrigin {
  std::optional<std::filesystem::path> file;  // the --config file
  train::KeyLines lines;                      // its keys' lines
  std::string profile = "built-in default profile";
  // "FILE:LINE" of the key (or of its nearest enclosing key) when the file gives it, else the
  // profile's name.
  std::string where(const std::string& key_path) const;
};

// Selects unlearned models for relearn / quantize / repr: "heavy" (each method's heaviest
// intensity), "all", or a list of names.
struct ModelSelector {
  std::string mode = "heavy";      // heavy | all | list
  std::vector<std::string> names;  // mode "list"
};

// Each section's fields are its YAML keys; a key the profile does not list takes the library's
// default. Sections of `lethe finetune` / `lethe unlearn` keys are the train layer's own structs.
struct DataSection {  // datagen::GenerateOptions sizes
  int targets = 0, background = 0, holdout = 0, sf_per_target = 0, correlated_per_target = 0,
      other_per_target = 0, world_person_qa = 0, world_country_qa = 0, perturbed = 0,
      paraphrased_questions = 0, corpus_phrasings = 0, corpus_prose = 0;
};

struct UnlearnMethod {
  std::string name;  // the objective's registry key
  // The section's common keys, then the method's overrides and parameters; epochs and save_epochs
  // from the intensities. Paths, dtype, device and max_length are the stage's.
  train::UnlearnConfig config;
  nlohmann::json params;  // the objective's parameters as given (sweep_results.json records them)
};

struct UnlearnSection {
  std::map<std::string, int64_t> intensities;  // label: epochs (>= 1)
  std::vector<UnlearnMethod> methods;          // in name order
};

struct EvalSection {
  int64_t max_new_tokens = 0, batch_size = 0, limit = 0;
  double min_k = 0;
  std::vector<std::string> metrics;  // empty: every metric
  bool icu = false;
};

struct QuantizeSection {
  std::vector<std::string> schemes;
  ModelSelector models;
  int64_t calibration_questions = 0;
  bool include_base = false;
  std::optional<int64_t> limit;  // unset: eval.limit
};

struct RelearnSection {
  std::string set;  // forget | correlated | unrelated
  int64_t examples = 0, eval_limit = 0;
  std::vector<int64_t> steps;
  double learning_rate = 0;
  int64_t batch_size = 0, max_new_tokens = 0;
  ModelSelector models;
};

struct ReprSection {
  std::vector<std::string> layers;  // last | middle | all | a hidden-state index
  int64_t limit = 0, batch_size = 0;
  ModelSelector models;  // default: all
};

// The resolved, validated config of a run. `document` is the merged YAML as written to config.yaml;
// stage keys hash its sections (so run folders made before the typed parse are still reused) and
// audit records quote the unlearn section from it; no stage reads an option from it.
struct RunConfig {
  uint64_t seed = 0;
  // `seeds: N` (>= 1): the study once per seed seed, seed+1, ..., seed+N-1 in OUT/seed-S/, then
  // OUT/aggregate.json. Unset: one run in OUT itself.
  std::optional<int64_t> seeds;
  std::string model, dtype, device;
  int64_t max_length = 0;
  DataSection data;
  train::FinetuneConfig finetune;     // the finetune section (paths and run-level keys unset)
  train::FinetuneConfig retain_only;  // finetune merged with the retain_only section
  UnlearnSection unlearn;
  EvalSection eval;
  QuantizeSection quantize;
  RelearnSection relearn;
  ReprSection repr;
  report::AuditThresholds audit;
  nlohmann::json document;
};

// Checks every section, key, type and range of a resolved config and returns it typed. Throws
// lethe::Error "FILE:LINE: key.path: what is wrong" (the origin names where each key came from).
RunConfig parse_run_config(const nlohmann::json& resolved, const ConfigOrigin& origin);

// Default profile, then --quick's overlay, then the file (when given; a null section keeps the
// profile's), validated whole by parse_run_config. `origin` receives where each key came from.
nlohmann::json resolve_run_config(const std::optional<std::filesystem::path>& file, bool quick,
                                  ConfigOrigin* origin = nullptr);

// Names the unlearn stage will produce: method x intensity (sorted by epochs), method order.
std::vector<std::string> unlearn_model_names(const UnlearnSection& unlearn);

// The unlearned models a selector picks from `unlearned` (names checked by parse_run_config).
std::vector<std::string> select_models(const ModelSelector& selector,
                                       const std::vector<std::string>& unlearned,
                                       const UnlearnSection& unlearn);

}  // namespace lethe::pipeline
