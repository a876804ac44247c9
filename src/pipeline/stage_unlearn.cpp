// The unlearning sweep and the relearning attack stages (train/unlearn.h, train/relearn.h).
#include "core/error.h"
#include "core/json_io.h"
#include "pipeline/stages.h"
#include "train/relearn.h"
#include "train/unlearn.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace lethe::pipeline {

namespace {

// A run its stop criterion ended before an intensity's epoch: that intensity gets the stopped
// model, the files the run's final export wrote into its root (not its folders, logs or config).
void copy_stopped_model(const fs::path& run, const fs::path& dest) {
  fs::create_directories(dest);
  for (const auto& entry : fs::directory_iterator(run)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name == "metrics.jsonl" || name == "config.yaml") continue;
    fs::copy_file(entry.path(), dest / name);
  }
}

}  // namespace

StageOutcome stage_unlearn(const RunContext& ctx, const std::string& inputs_sha,
                           std::vector<std::string>* models) {
  const UnlearnSection& section = ctx.config.unlearn;
  const json& document = ctx.config.document;
  *models = unlearn_model_names(section);
  StageSpec spec{"unlearn",
                 {"results/sweep_results.json", "results/unlearn_metrics"},
                 {{"inputs", inputs_sha},
                  {"seed", document.at("seed")},
                  {"dtype", document.at("dtype")},
                  {"max_length", document.at("max_length")},
                  {"unlearn", document.at("unlearn")}}};
  for (const auto& n : *models) spec.outputs.push_back("models/" + n);
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    std::vector<std::pair<int64_t, std::string>> labels;
    for (const auto& [label, epochs] : section.intensities) labels.emplace_back(epochs, label);
    std::sort(labels.begin(), labels.end());
    json sweep = {{"intensities", section.intensities}, {"configs", json::array()}};
    for (const auto& method : section.methods) {
      // The method's config (common keys + overrides + params, epochs = the heaviest intensity,
      // an export after each intensity's epoch) was parsed and checked with the run config.
      train::UnlearnConfig config = method.config;
      config.model = ctx.model;
      config.adapter = model_dir(ctx, "finetuned").string();
      config.forget = (ctx.run_dir / "data" / "sf.jsonl").string();
      config.retain = (ctx.run_dir / "data" / "sr.jsonl").string();
      const fs::path run = tmp / "runs" / method.name;
      config.out = run.string();
      config.dtype = ctx.config.dtype;
      config.device = ctx.config.device;
      config.max_length = ctx.config.max_length;
      config.train.label = "unlearn " + method.name;
      const auto result = train::run_unlearn(config, false);
      for (const auto& l : labels) {
        const std::string name = "unlearn_" + method.name + "_" + l.second;
        const fs::path dest = tmp / "models" / name;
        fs::create_directories(dest.parent_path());
        const fs::path epoch_dir = run / ("epoch-" + std::to_string(l.first));
        const bool stopped_before = result.stop_step && !fs::exists(epoch_dir);
        if (stopped_before)
          copy_stopped_model(run, dest);
        else
          fs::rename(epoch_dir, dest);
        json entry = {{"name", name},
                      {"method", method.name},
                      {"intensity", l.second},
                      {"epochs", l.first},
                      {"learning_rate", config.train.schedule.lr},
                      {"params", method.params},
                      {"run_final_loss", result.final_loss},
                      {"run_seconds", result.seconds}};
        // Only runs that evaluate during training carry these (the default output is unchanged).
        if (config.train.eval_every > 0) {
          entry["eval_every"] = config.train.eval_every;
          entry["stop_when"] =
              config.train.stop_when.empty() ? json(nullptr) : json(config.train.stop_when);
          entry["stop_step"] = result.stop_step ? json(*result.stop_step) : json(nullptr);
          entry["stopped_before_epoch"] = stopped_before;
        }
        sweep["configs"].push_back(entry);
      }
      // The run's metrics (loss per step) stay with the results; checkpoints are dropped.
      fs::create_directories(tmp / "results" / "unlearn_metrics");
      if (fs::exists(run / "metrics.jsonl"))
        fs::copy_file(run / "metrics.jsonl",
                      tmp / "results" / "unlearn_metrics" / (method.name + ".jsonl"));
    }
    fs::create_directories(tmp / "results");
    core::write_json(tmp / "results" / "sweep_results.json", sweep);
    return std::to_string(models->size()) + " unlearned models from " +
           std::to_string(section.methods.size()) + " runs";
  });
}

StageOutcome stage_relearn(const RunContext& ctx, const std::string& inputs_sha,
                           const std::vector<std::string>& unlearned) {
  const RelearnSection& r = ctx.config.relearn;
  const auto selected = select_models(r.models, unlearned, ctx.config.unlearn);
  json key = ctx.config.document.at("relearn");
  key.erase("models");  // the selected names are in the key instead
  StageSpec spec{"relearn", {}, {{"inputs", inputs_sha}, {"relearn", key}, {"models", selected}}};
  for (const auto& n : selected) spec.outputs.push_back("results/relearn_results_" + n + ".json");
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    for (const auto& n : selected) {
      train::RelearnConfig config;
      config.model = ctx.model;
      config.adapter = model_dir(ctx, n).string();
      config.finetuned = model_dir(ctx, "finetuned").string();
      config.data = (ctx.run_dir / "data").string();
      config.dtype = ctx.config.dtype;
      config.device = ctx.config.device;
      config.max_length = ctx.config.max_length;
      config.options.seed = ctx.config.seed;
      config.set = r.set;
      config.examples = r.examples;
      config.eval_limit = r.eval_limit;
      config.options.steps = r.steps;
      config.options.learning_rate = r.learning_rate;
      config.options.batch_size = r.batch_size;
      config.options.max_new_tokens = r.max_new_tokens;
      const fs::path out = tmp / "runs" / n;
      config.out = out.string();
      train::run_relearn(config);
      fs::create_directories(tmp / "results");
      fs::rename(out / "relearn_results.json",
                 tmp / "results" / ("relearn_results_" + n + ".json"));
    }
    return std::to_string(selected.size()) + " models attacked (" + r.set + " set)";
  });
}

}  // namespace lethe::pipeline
