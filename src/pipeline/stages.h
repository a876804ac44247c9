// The stages of `lethe run`, each a function of the run context (config + run folder) and the
// hashes of the stages it reads. A stage whose library is not in this build is not declared
// available (pipeline.cpp reports it as "unavailable"). Layout: docs/run.md.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pipeline/run_config.h"
#include "pipeline/stage.h"

namespace lethe::pipeline {

struct RunContext {
  std::filesystem::path run_dir;
  RunConfig config;          // resolved and validated (run_config.h)
  std::string model;         // config.model
  std::string model_sha256;  // fingerprint of the base model folder
};

// config.json + tokenizer.json + the names and sizes of the weight files (a full hash of a
// multi-GB checkpoint would dominate the run).
std::string model_fingerprint(const std::string& model_path_or_id);

// data/: the offline benchmark (datagen) and its quality report; fails when a hard check fails.
StageOutcome stage_data(const RunContext& ctx);

// models/finetuned_adapter/ (forget + retain) or models/retain_only_adapter/ (retain only).
StageOutcome stage_finetune(const RunContext& ctx, const std::string& data_sha, bool retain_only);

// The unlearning sweep: per method one run of max(intensities) epochs from the fine-tuned adapter,
// exported after each intensity's epoch as models/unlearn_{method}_{label}/; results/
// sweep_results.json. Returns the outcome; `models` gets the unlearned model names in order.
StageOutcome stage_unlearn(const RunContext& ctx, const std::string& inputs_sha,
                           std::vector<std::string>* models);

// results/eval_results.json (base, fine-tuned, every unlearned model, retain-only) and
// results/retain_compare_results.json (correlated vs other retain per model).
StageOutcome stage_eval(const RunContext& ctx, const std::string& inputs_sha,
                        const std::vector<std::string>& unlearned);

// results/relearn_results_<model>.json for the selected unlearned models.
StageOutcome stage_relearn(const RunContext& ctx, const std::string& inputs_sha,
                           const std::vector<std::string>& unlearned);

// results/quantize_results.json.
StageOutcome stage_quantize(const RunContext& ctx, const std::string& inputs_sha,
                            const std::vector<std::string>& unlearned);

// results/repr_results.json and repr_results_<layer>.json.
StageOutcome stage_repr(const RunContext& ctx, const std::string& inputs_sha,
                        const std::vector<std::string>& unlearned);

// results/*.png charts (layerdrift_by_epoch.png, layerdrift_by_method.png, ...) from the results.
StageOutcome stage_plots(const RunContext& ctx, const std::string& inputs_sha);

// RUN/audit.jsonl (report/audit.h): one hash-chained record per unlearned model (subject = the
// people of data/sf.jsonl, forget set, base model, fine-tuned + unlearned adapters, method config,
// metrics before = the fine-tuned model's and after from eval_results.json, robustness from the
// quantize / relearn / repr results of the stages named in `measured`, verdict against the default
// thresholds or the config's optional `audit:` section). The whole ledger is the stage's output.
StageOutcome stage_audit(const RunContext& ctx, const std::string& inputs_sha,
                         const std::vector<std::string>& unlearned,
                         const std::vector<std::string>& measured);

// Folder of a model of the run: "finetuned" -> models/finetuned_adapter, ...
std::filesystem::path model_dir(const RunContext& ctx, const std::string& name);

}  // namespace lethe::pipeline
