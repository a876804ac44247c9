// The stages every build has: data generation + checks, LoRA fine-tuning (full and retain-only),
// evaluation, and the helpers the other stage files share.
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "datagen/generate.h"
#include "eval/evaluator_run.h"
#include "io/model_path.h"
#include "pipeline/run_config.h"
#include "pipeline/stages.h"
#include "train/finetune.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace lethe::pipeline {

std::string model_fingerprint(const std::string& model_path_or_id) {
  const fs::path dir = io::resolve_model_path(model_path_or_id);
  std::string text;
  for (const char* name : {"config.json", "tokenizer.json"})
    if (fs::exists(dir / name)) text += core::sha256_file(dir / name);
  std::vector<std::string> weights;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors")
      weights.push_back(e.path().filename().string() + ":" + std::to_string(e.file_size()));
  std::sort(weights.begin(), weights.end());
  for (const auto& w : weights) text += w;
  if (weights.size() == 1 &&
      fs::file_size(dir / weights[0].substr(0, weights[0].find(':'))) < (64u << 20))
    text += core::sha256_file(dir / weights[0].substr(0, weights[0].find(':')));  // small: exact
  return core::sha256_hex(text);
}

fs::path model_dir(const RunContext& ctx, const std::string& name) {
  if (name == "finetuned") return ctx.run_dir / "models" / "finetuned_adapter";
  if (name == "retain_only") return ctx.run_dir / "models" / "retain_only_adapter";
  return ctx.run_dir / "models" / name;
}

std::vector<std::string> unlearn_model_names(const json& config) {
  std::vector<std::pair<int64_t, std::string>> labels;
  for (auto it = config["unlearn"]["intensities"].begin();
       it != config["unlearn"]["intensities"].end(); ++it)
    labels.emplace_back(it.value().get<int64_t>(), it.key());
  std::sort(labels.begin(), labels.end());
  std::vector<std::string> names;
  for (auto it = config["unlearn"]["methods"].begin(); it != config["unlearn"]["methods"].end();
       ++it)
    for (const auto& l : labels) names.push_back("unlearn_" + it.key() + "_" + l.second);
  return names;
}

std::vector<std::string> select_models(const json& selector,
                                       const std::vector<std::string>& unlearned,
                                       const json& config) {
  if (selector.is_array()) {
    std::vector<std::string> out;
    for (const auto& n : selector) {
      const auto name = n.get<std::string>();
      LETHE_CHECK(std::find(unlearned.begin(), unlearned.end(), name) != unlearned.end(),
                  "models: '", name, "' is not an unlearned model of this run");
      out.push_back(name);
    }
    return out;
  }
  const std::string mode = selector.is_string() ? selector.get<std::string>() : "heavy";
  if (mode == "all") return unlearned;
  LETHE_CHECK(mode == "heavy", "models: expected \"heavy\", \"all\" or a list, got '", mode, "'");
  int64_t most = 0;
  std::string heaviest;
  for (auto it = config["unlearn"]["intensities"].begin();
       it != config["unlearn"]["intensities"].end(); ++it)
    if (it.value().get<int64_t>() > most) most = it.value().get<int64_t>(), heaviest = it.key();
  std::vector<std::string> out;
  const std::string suffix = "_" + heaviest;
  for (const auto& n : unlearned)
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(n);
  return out;
}

StageOutcome stage_data(const RunContext& ctx) {
  const json& section = ctx.config["data"];
  StageSpec spec{"data", {"data"}, {{"seed", ctx.config["seed"]}, {"data", section}}};
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    datagen::GenerateOptions o;
    o.out_dir = (tmp / "data").string();
    o.seed = ctx.config["seed"].get<uint64_t>();
    const std::map<std::string, int*> ints = {{"targets", &o.targets},
                                              {"background", &o.background},
                                              {"holdout", &o.holdout},
                                              {"sf_per_target", &o.sf_per_target},
                                              {"correlated_per_target", &o.correlated_per_target},
                                              {"other_per_target", &o.other_per_target},
                                              {"world_person_qa", &o.world_person_qa},
                                              {"world_country_qa", &o.world_country_qa},
                                              {"perturbed", &o.perturbed},
                                              {"paraphrased_questions", &o.paraphrased_questions},
                                              {"corpus_phrasings", &o.corpus_phrasings},
                                              {"corpus_prose", &o.corpus_prose}};
    for (auto it = section.begin(); it != section.end(); ++it) {
      auto found = ints.find(it.key());
      LETHE_CHECK(found != ints.end(), "config data: unknown key '", it.key(), "'");
      LETHE_CHECK(it.value().is_number_integer(), "config data.", it.key(), " must be an integer");
      *found->second = it.value().get<int>();
    }
    o.check = true;
    const auto result = datagen::generate_dataset(o);
    LETHE_CHECK(!result.report || result.report->passed(), "data: the quality checks failed (see ",
                o.out_dir, "/quality_report.txt)");
    const json counts = result.manifest.value("counts", json::object());
    auto count = [&](const char* file) {
      return counts.is_object() && counts.contains(file) ? counts[file].dump() : std::string("?");
    };
    return "sf " + count("sf.jsonl") + ", sr " + count("sr.jsonl") +
           " questions, quality checks passed";
  });
}

StageOutcome stage_finetune(const RunContext& ctx, const std::string& data_sha, bool retain_only) {
  const std::string name = retain_only ? "retain_only" : "finetune";
  const std::string rel = retain_only ? "models/retain_only_adapter" : "models/finetuned_adapter";
  json section = ctx.config["finetune"];
  if (retain_only) section = merge_config(section, ctx.config["retain_only"]);
  StageSpec spec{name,
                 {rel},
                 {{"model", ctx.model_sha256},
                  {"data", data_sha},
                  {"seed", ctx.config["seed"]},
                  {"dtype", ctx.config["dtype"]},
                  {"max_length", ctx.config["max_length"]},
                  {"finetune", section}}};
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    json j = section;
    j["model"] = ctx.model;
    j["data"] = {(ctx.run_dir / "data" / "sf.jsonl").string(),
                 (ctx.run_dir / "data" / "sr.jsonl").string()};
    j["out"] = (tmp / rel).string();
    j["retain_only"] = retain_only;
    j["dtype"] = ctx.config["dtype"];
    j["device"] = ctx.config["device"];
    j["max_length"] = ctx.config["max_length"];
    if (!j.contains("seed")) j["seed"] = ctx.config["seed"];
    train::FinetuneConfig config;
    config.train.label = name;
    train::finetune_config_from_json(j, config, "config " + name);
    config.train.label = name;
    const auto result = train::run_finetune(config, false);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%lld steps, final loss %.3f",
                  static_cast<long long>(result.steps), result.final_loss);
    return std::string(buf);
  });
}

// Correlated vs other retain per model, from the evaluation's aggregates (the original study's
// retain_compare_results.json).
static json retain_compare(const json& eval) {
  json out = {{"metric", "rouge_l_recall"}, {"models", json::object()}};
  for (auto it = eval["models"].begin(); it != eval["models"].end(); ++it) {
    const auto& agg = it.value().value("aggregates", json::object());
    json entry;
    for (const char* subset : {"retain_correlated", "retain_other"})
      if (agg.contains(subset)) entry[subset] = agg[subset];
    if (agg.contains("retain_gap")) entry["retain_gap"] = agg["retain_gap"];
    out["models"][it.key()] = entry;
  }
  return out;
}

StageOutcome stage_eval(const RunContext& ctx, const std::string& inputs_sha,
                        const std::vector<std::string>& unlearned) {
  StageSpec spec{"eval",
                 {"results/eval_results.json", "results/retain_compare_results.json"},
                 {{"inputs", inputs_sha},
                  {"models", unlearned},
                  {"eval", ctx.config["eval"]},
                  {"max_length", ctx.config["max_length"]}}};
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    const json& section = ctx.config["eval"];
    eval::EvalRunConfig config;
    config.model = ctx.model;
    config.adapters.push_back(model_dir(ctx, "finetuned").string());
    config.names.push_back("finetuned");
    for (const auto& n : unlearned) {
      config.adapters.push_back(model_dir(ctx, n).string());
      config.names.push_back(n);
    }
    config.retain_model = model_dir(ctx, "retain_only").string();
    config.data = (ctx.run_dir / "data").string();
    config.out = (tmp / "results" / "eval_results.json").string();
    config.dtype = ctx.config["dtype"];
    config.device = ctx.config["device"];
    for (auto it = section.begin(); it != section.end(); ++it) {
      const auto& k = it.key();
      if (k == "max_new_tokens")
        config.options.max_new_tokens = it.value();
      else if (k == "batch_size")
        config.options.batch_size = it.value();
      else if (k == "limit")
        config.options.limit = it.value();
      else if (k == "min_k")
        config.options.min_k = it.value();
      else if (k == "metrics")
        config.options.metrics = it.value().get<std::vector<std::string>>();
      else if (k == "icu")
        config.icu = it.value();
      else
        LETHE_FAIL("config eval: unknown key '", k,
                   "' (valid: max_new_tokens batch_size limit min_k metrics icu)");
    }
    const json results = eval::run_evaluation(config);
    core::write_json(tmp / "results" / "retain_compare_results.json", retain_compare(results));
    return std::to_string(results["models"].size()) + " models evaluated";
  });
}

}  // namespace lethe::pipeline
