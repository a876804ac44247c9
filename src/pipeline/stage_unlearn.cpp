// The unlearning sweep and the relearning attack stages (train/unlearn.h, train/relearn.h).
#include "core/error.h"
#include "core/json_io.h"
#include "pipeline/stages.h"
#include "train/relearn.h"
#include "train/unlearn.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace lethe::pipeline {

StageOutcome stage_unlearn(const RunContext& ctx, const std::string& inputs_sha,
                           std::vector<std::string>* models) {
  const json& section = ctx.config["unlearn"];
  *models = unlearn_model_names(ctx.config);
  StageSpec spec{"unlearn",
                 {"results/sweep_results.json", "results/unlearn_metrics"},
                 {{"inputs", inputs_sha},
                  {"seed", ctx.config["seed"]},
                  {"dtype", ctx.config["dtype"]},
                  {"max_length", ctx.config["max_length"]},
                  {"unlearn", section}}};
  for (const auto& n : *models) spec.outputs.push_back("models/" + n);
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    std::vector<std::pair<int64_t, std::string>> labels;
    for (auto it = section["intensities"].begin(); it != section["intensities"].end(); ++it)
      labels.emplace_back(it.value().get<int64_t>(), it.key());
    std::sort(labels.begin(), labels.end());
    json common = section;
    common.erase("intensities");
    common.erase("methods");
    json sweep = {{"intensities", section["intensities"]}, {"configs", json::array()}};
    for (auto m = section["methods"].begin(); m != section["methods"].end(); ++m) {
      json j = common;
      json params = m.value().is_object() ? m.value() : json::object();
      // A method entry may override common keys (learning_rate, batch_size, ...); the rest are
      // the objective's parameters.
      for (const char* k : {"learning_rate", "batch_size", "lr_scheduler", "weight_decay",
                            "max_grad_norm", "grad_accum", "reference", "warmup_ratio"})
        if (params.contains(k)) j[k] = params[k], params.erase(k);
      j["method"] = m.key();
      j["params"] = params;
      j["model"] = ctx.model;
      j["adapter"] = model_dir(ctx, "finetuned").string();
      j["forget"] = (ctx.run_dir / "data" / "sf.jsonl").string();
      j["retain"] = (ctx.run_dir / "data" / "sr.jsonl").string();
      const fs::path run = tmp / "runs" / m.key();
      j["out"] = run.string();
      j["dtype"] = ctx.config["dtype"];
      j["device"] = ctx.config["device"];
      j["max_length"] = ctx.config["max_length"];
      if (!j.contains("seed")) j["seed"] = ctx.config["seed"];
      j["epochs"] = labels.back().first;
      std::vector<int64_t> save;
      for (const auto& l : labels) save.push_back(l.first);
      j["save_epochs"] = save;
      train::UnlearnConfig config = train::default_unlearn_config();
      train::unlearn_config_from_json(j, config, "config unlearn.methods." + m.key());
      config.train.label = "unlearn " + m.key();
      const auto result = train::run_unlearn(config, false);
      for (const auto& l : labels) {
        const std::string name = "unlearn_" + m.key() + "_" + l.second;
        const fs::path dest = tmp / "models" / name;
        fs::create_directories(dest.parent_path());
        fs::rename(run / ("epoch-" + std::to_string(l.first)), dest);
        sweep["configs"].push_back({{"name", name},
                                    {"method", m.key()},
                                    {"intensity", l.second},
                                    {"epochs", l.first},
                                    {"learning_rate", config.train.schedule.lr},
                                    {"params", params},
                                    {"run_final_loss", result.final_loss},
                                    {"run_seconds", result.seconds}});
      }
      // The run's metrics (loss per step) stay with the results; checkpoints are dropped.
      fs::create_directories(tmp / "results" / "unlearn_metrics");
      if (fs::exists(run / "metrics.jsonl"))
        fs::copy_file(run / "metrics.jsonl",
                      tmp / "results" / "unlearn_metrics" / (m.key() + ".jsonl"));
    }
    fs::create_directories(tmp / "results");
    core::write_json(tmp / "results" / "sweep_results.json", sweep);
    return std::to_string(models->size()) + " unlearned models from " +
           std::to_string(section["methods"].size()) + " runs";
  });
}

StageOutcome stage_relearn(const RunContext& ctx, const std::string& inputs_sha,
                           const std::vector<std::string>& unlearned) {
  json section = ctx.config["relearn"];
  const auto selected =
      select_models(section.value("models", json("heavy")), unlearned, ctx.config);
  section.erase("models");
  StageSpec spec{
      "relearn", {}, {{"inputs", inputs_sha}, {"relearn", section}, {"models", selected}}};
  for (const auto& n : selected) spec.outputs.push_back("results/relearn_results_" + n + ".json");
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    for (const auto& n : selected) {
      train::RelearnConfig config;
      config.model = ctx.model;
      config.adapter = model_dir(ctx, n).string();
      config.finetuned = model_dir(ctx, "finetuned").string();
      config.data = (ctx.run_dir / "data").string();
      config.dtype = ctx.config["dtype"];
      config.device = ctx.config["device"];
      config.max_length = ctx.config["max_length"];
      config.options.seed = ctx.config["seed"];
      for (auto it = section.begin(); it != section.end(); ++it) {
        const auto& k = it.key();
        if (k == "set")
          config.set = it.value();
        else if (k == "examples")
          config.examples = it.value();
        else if (k == "eval_limit")
          config.eval_limit = it.value();
        else if (k == "steps")
          config.options.steps = it.value().get<std::vector<int64_t>>();
        else if (k == "learning_rate")
          config.options.learning_rate = it.value();
        else if (k == "batch_size")
          config.options.batch_size = it.value();
        else if (k == "max_new_tokens")
          config.options.max_new_tokens = it.value();
        else
          LETHE_FAIL("config relearn: unknown key '", k,
                     "' (valid: set examples eval_limit steps learning_rate batch_size "
                     "max_new_tokens models)");
      }
      const fs::path out = tmp / "runs" / n;
      config.out = out.string();
      train::run_relearn(config);
      fs::create_directories(tmp / "results");
      fs::rename(out / "relearn_results.json",
                 tmp / "results" / ("relearn_results_" + n + ".json"));
    }
    return std::to_string(selected.size()) + " models attacked (" +
           section.value("set", std::string("forget")) + " set)";
  });
}

}  // namespace lethe::pipeline
