// The quantize-eval loop: evaluate, merge + fake-quantize, evaluate again, restore the weights.
#include "quant/quantize_eval.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "core/json_io.h"
#include "core/runtime.h"
#include "core/sha256.h"
#include "model/lora.h"
#include "model/pretrained.h"
#include "quant/quantize_model.h"
#include "quant/scheme.h"

namespace lethe::quant {

namespace fs = std::filesystem;
using json = nlohmann::json;

json recovery_fraction(double before, double after, double reference) {
  const double gap = reference - before;
  if (std::abs(gap) <= 1e-9) return nullptr;
  return (after - before) / gap;
}

namespace {

std::string folder_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

// The calibration batch for int8_outlier: the first questions (+ answers) of the forget and retain
// sets, right-padded.
std::pair<torch::Tensor, torch::Tensor> calibration_batch(const text::Tokenizer& tok,
                                                          const data::Dataset& ds, int64_t n) {
  std::vector<std::vector<int64_t>> rows;
  for (const auto* set : {&ds.sf, &ds.sr})
    for (size_t i = 0; i < set->size() && int64_t(rows.size()) < n; ++i) {
      auto qa = tok.encode_qa((*set)[i].question, (*set)[i].answer);
      qa.prompt_ids.insert(qa.prompt_ids.end(), qa.answer_ids.begin(), qa.answer_ids.end());
      rows.push_back(qa.prompt_ids);
    }
  LETHE_CHECK(!rows.empty(), "quantize-eval: no questions for calibration in ", ds.dir.string());
  size_t T = 0;
  for (const auto& r : rows) T = std::max(T, r.size());
  torch::Tensor ids = torch::zeros({int64_t(rows.size()), int64_t(T)}, torch::kInt64);
  torch::Tensor mask = torch::zeros_like(ids);
  for (size_t b = 0; b < rows.size(); ++b)
    for (size_t t = 0; t < rows[b].size(); ++t) {
      ids[b][t] = rows[b][t];
      mask[b][t] = 1;
    }
  return {ids, mask};
}

double get_or_nan(const json& j, const char* set, const char* key) {
  if (j.contains(set) && j[set].contains(key)) return j[set][key].get<double>();
  return std::nan("");
}

json summary(const json& agg) {
  json s = json::object();
  for (const char* set : {"forget", "retain", "world"})
    for (const char* key : {"rouge_l_recall", "truth_ratio", "answer_prob"}) {
      const double v = get_or_nan(agg, set, key);
      if (!std::isnan(v)) s[std::string(set) + "_" + key] = v;
    }
  if (agg.contains("model_utility")) s["model_utility"] = agg["model_utility"];
  return s;
}

}  // namespace

json run_quantize_eval(const QuantizeEvalConfig& config) {
  const auto t0 = std::chrono::steady_clock::now();
  LETHE_CHECK(!config.schemes.empty(), "quantize-eval: no schemes given (--schemes)");
  for (const auto& s : config.schemes) find_scheme(s);  // UsageError before the slow loads
  LETHE_CHECK(config.names.empty() || config.names.size() == config.adapters.size(),
              "quantize-eval: give one --name per --adapter (", config.names.size(), " names, ",
              config.adapters.size(), " adapters)");
  LETHE_CHECK(
      !config.adapters.empty() || config.include_base || !config.reference_adapter.empty(),
      "quantize-eval: nothing to evaluate (no --adapter, --reference-adapter or --include-base)");
  for (const auto& a : config.adapters)
    LETHE_CHECK(fs::is_directory(a), "quantize-eval: adapter folder ", a, " does not exist");
  if (!config.reference_adapter.empty())
    LETHE_CHECK(fs::is_directory(config.reference_adapter),
                "quantize-eval: reference adapter folder ", config.reference_adapter,
                " does not exist");
  LETHE_CHECK(fs::is_directory(config.data), "quantize-eval: dataset folder ", config.data,
              " does not exist");
  eval::EvalOptions options = config.options;
  if (options.metrics.empty())
    options.metrics = {"rouge_l", "answer_prob", "truth_ratio", "model_utility"};
  eval::resolve_metrics(options.metrics, false);
  const data::Dataset dataset = data::load_dataset(config.data);
  auto pretrained = model::load_pretrained(
      config.model, core::parse_dtype(config.dtype, core::parse_device(config.device)),
      core::parse_device(config.device));
  const auto& tok = pretrained.require_tokenizer("lethe quantize-eval");
  auto& model = pretrained.model;
  eval::Evaluator evaluator(model, tok, pretrained.eos_token_ids, dataset, options);
  const auto saved = snapshot_projection_weights(model);

  struct Entry {
    std::string name, adapter;
  };
  std::vector<Entry> entries;
  if (!config.reference_adapter.empty()) entries.push_back({"reference", config.reference_adapter});
  if (config.include_base) entries.push_back({"base", ""});
  for (size_t i = 0; i < config.adapters.size(); ++i)
    entries.push_back({config.names.empty() ? folder_name(config.adapters[i]) : config.names[i],
                       config.adapters[i]});

  json models = json::object();
  json reference_summary;  // the fine-tuned model per scheme ("full" = unquantized)
  for (const auto& e : entries) {
    LETHE_CHECK(!models.contains(e.name), "quantize-eval: two models are named '", e.name, "'");
    if (e.adapter.empty())
      model::detach_lora(model);
    else
      model::load_adapter(model, e.adapter);
    std::cerr << "quantize-eval: " << e.name << " (full precision)\n";
    const auto before = evaluator.evaluate_current({e.name, e.adapter}, std::nullopt);
    const json agg_before = evaluator.aggregates(before, nullptr);
    json m = {{"adapter", e.adapter},
              {"full", {{"aggregates", agg_before}, {"summary", summary(agg_before)}}}};
    json per_scheme = json::object();
    for (const auto& scheme : config.schemes) {
      std::cerr << "quantize-eval: " << e.name << " @ " << scheme << "\n";
      std::map<std::string, torch::Tensor> calibration;
      if (find_scheme(scheme).needs_calibration) {
        if (model::has_lora(model)) model::merge_lora(model);
        auto [ids, mask] = calibration_batch(tok, dataset, config.calibration_questions);
        calibration = calibration_input_absmax(model, ids, mask);
      }
      const ModelQuantResult q = quantize_model(model, scheme, &calibration);
      const auto after =
          evaluator.evaluate_current({e.name + "@" + scheme, e.adapter}, std::nullopt);
      restore_projection_weights(model, saved);
      const json agg_after = evaluator.aggregates(after, nullptr);
      json recovery = json::object();
      for (const char* key : {"rouge_l_recall", "truth_ratio", "answer_prob"}) {
        const double b = get_or_nan(agg_before, "forget", key),
                     a = get_or_nan(agg_after, "forget", key);
        if (std::isnan(b) || std::isnan(a)) continue;
        json r = {{"before", b}, {"after", a}, {"delta", a - b}};
        if (!reference_summary.is_null() && e.name != "reference") {
          const std::string k = std::string("forget_") + key;
          if (reference_summary["full"].contains(k))
            r["recovered_fraction"] =
                recovery_fraction(b, a, reference_summary["full"][k].get<double>());
        }
        recovery["forget_" + std::string(key)] = r;
      }
      per_scheme[scheme] = {{"aggregates", agg_after},
                            {"summary", summary(agg_after)},
                            {"recovery", recovery},
                            {"quantization", q.to_json()}};
      if (e.name == "reference") reference_summary[scheme] = summary(agg_after);
    }
    if (e.name == "reference") reference_summary["full"] = summary(agg_before);
    m["schemes"] = per_scheme;
    models[e.name] = m;
  }
  model::detach_lora(model);

  json results;
  results["lethe_version"] = LETHE_VERSION;
  results["complete"] = true;
  results["config"] = {
      {"model", config.model},
      {"model_folder", pretrained.folder.string()},
      {"adapters", config.adapters},
      {"names", config.names},
      {"reference_adapter", config.reference_adapter},
      {"include_base", config.include_base},
      {"data", config.data},
      {"schemes", config.schemes},
      {"calibration_questions", config.calibration_questions},
      {"dtype", config.dtype},
      {"device", config.device},
      {"max_new_tokens", options.max_new_tokens},
      {"batch_size", options.batch_size},
      {"limit", options.limit},
      {"metrics", evaluator.metrics()},
      {"quantized_modules", "q/k/v/o/gate/up/down_proj (embeddings, norms, lm_head kept)"}};
  json adapter_hashes = json::object();
  for (const auto& e : entries)
    if (!e.adapter.empty()) adapter_hashes[e.name] = core::sha256_tree(e.adapter);
  results["hashes"] = {{"model", core::sha256_tree(pretrained.folder)},
                       {"adapters", adapter_hashes}};
  results["models"] = models;
  results["timing"] = {
      {"wall_seconds",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  if (!config.out.empty()) core::write_json(config.out, results);
  return results;
}

}  // namespace lethe::quant
