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

StageOutcome stage_data(const RunContext& ctx) {
  const DataSection& d = ctx.config.data;
  StageSpec spec{
      "data",
      {"data"},
      {{"seed", ctx.config.document.at("seed")}, {"data", ctx.config.document.at("data")}}};
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    datagen::GenerateOptions o;
    o.out_dir = (tmp / "data").string();
    o.seed = ctx.config.seed;
    o.targets = d.targets;
    o.background = d.background;
    o.holdout = d.holdout;
    o.sf_per_target = d.sf_per_target;
    o.correlated_per_target = d.correlated_per_target;
    o.other_per_target = d.other_per_target;
    o.world_person_qa = d.world_person_qa;
    o.world_country_qa = d.world_country_qa;
    o.perturbed = d.perturbed;
    o.paraphrased_questions = d.paraphrased_questions;
    o.corpus_phrasings = d.corpus_phrasings;
    o.corpus_prose = d.corpus_prose;
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
  const json& document = ctx.config.document;
  json section = document.at("finetune");
  if (retain_only) section = merge_config(section, document.at("retain_only"));
  StageSpec spec{name,
                 {rel},
                 {{"model", ctx.model_sha256},
                  {"data", data_sha},
                  {"seed", document.at("seed")},
                  {"dtype", document.at("dtype")},
                  {"max_length", document.at("max_length")},
                  {"finetune", section}}};
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    train::FinetuneConfig config = retain_only ? ctx.config.retain_only : ctx.config.finetune;
    config.model = ctx.model;
    config.data = {(ctx.run_dir / "data" / "sf.jsonl").string(),
                   (ctx.run_dir / "data" / "sr.jsonl").string()};
    config.out = (tmp / rel).string();
    config.retain_only = retain_only;
    config.dtype = ctx.config.dtype;
    config.device = ctx.config.device;
    config.max_length = ctx.config.max_length;
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
                  {"eval", ctx.config.document.at("eval")},
                  {"max_length", ctx.config.document.at("max_length")}}};
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    const EvalSection& e = ctx.config.eval;
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
    config.dtype = ctx.config.dtype;
    config.device = ctx.config.device;
    config.options.max_new_tokens = e.max_new_tokens;
    config.options.batch_size = e.batch_size;
    config.options.limit = e.limit;
    config.options.min_k = e.min_k;
    config.options.metrics = e.metrics;
    config.icu = e.icu;
    const json results = eval::run_evaluation(config);
    core::write_json(tmp / "results" / "retain_compare_results.json", retain_compare(results));
    return std::to_string(results["models"].size()) + " models evaluated";
  });
}

}  // namespace lethe::pipeline
