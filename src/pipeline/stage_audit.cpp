// The audit stage (report/audit.h): RUN/audit.jsonl, one hash-chained record per unlearned model,
// written whole as the stage's output (a re-run replaces it, never appends duplicates), its paths
// relative to RUN. Reads the run's result files (and hashes them); computes no metric itself.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "eval/results_schema.h"
#include "io/model_path.h"
#include "pipeline/stages.h"
#include "report/audit.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace lethe::pipeline {

namespace {

namespace k = eval::schema;
using k::at;
std::optional<double> number(const json& j, std::initializer_list<std::string_view> path) {
  return k::number_at(j, path);
}

json read_if(const fs::path& path) { return fs::exists(path) ? core::read_json(path) : json(); }

// "Dang Minh (t000), ..." for the people of sf.jsonl (names from profiles.jsonl when present).
std::string forget_subject(const fs::path& data) {
  std::vector<std::string> ids;
  for (const auto& qa : core::read_jsonl(data / "sf.jsonl")) {
    const std::string id = qa.value("person_id", "");
    if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  LETHE_CHECK(!ids.empty(), "audit: ", (data / "sf.jsonl").string(), " names no person_id");
  std::map<std::string, std::string> names;
  if (fs::exists(data / "profiles.jsonl"))
    for (const auto& p : core::read_jsonl(data / "profiles.jsonl"))
      names[p.value("id", "")] = p.value("name", "");
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ", ";
    out += names[id].empty() ? id : names[id] + " (" + id + ")";
  }
  return out;
}

// The forget/retain/utility numbers of one eval_results.json model entry (absent ones left out).
json eval_metrics(const json& eval, const std::string& model) {
  json out = json::object();
  const json* agg = k::model_aggregates(eval, model);
  if (!agg) return out;
  const std::tuple<const char*, const char*, const char*> keys[] = {
      {"forget_rouge_l", k::kForget, k::kRougeLRecall},
      {"forget_truth_ratio", k::kForget, k::kTruthRatio},
      {"forget_answer_prob", k::kForget, k::kAnswerProb},
      {"retain_rouge_l", k::kRetain, k::kRougeLRecall},
      {"retain_correlated_rouge_l", k::kRetainCorrelated, k::kRougeLRecall},
      {"retain_other_rouge_l", k::kRetainOther, k::kRougeLRecall},
      {"world_rouge_l", k::kWorld, k::kRougeLRecall},
      {"model_utility", nullptr, k::kModelUtility},
      {"forget_quality", nullptr, k::kForgetQuality}};
  for (const auto& [name, set, key] : keys)
    if (const auto v = set ? k::set_metric(*agg, set, key) : k::model_metric(*agg, key)) out[name] = *v;
  return out;
}

// Robustness of one model, worst case over schemes / layers / attacks (docs/report.md).
json robustness(const json& eval, const json& quantize, const json& relearn, const json& repr,
                const std::string& model) {
  json r = json::object();
  // quantize_results.json: models.M.schemes.S.recovery.forget_rouge_l_recall.recovered_fraction.
  if (const json* schemes = at(quantize, {"models", model.c_str(), "schemes"});
      schemes && schemes->is_object()) {
    json by_scheme = json::object();
    std::optional<double> worst;
    std::string worst_scheme;
    for (const auto& [scheme, s] : schemes->items()) {
      const auto f =
          number(s, {k::kRecovery, k::recovery_key(k::kRougeLRecall), k::kRecoveredFraction});
      if (!f) continue;
      by_scheme[scheme] = *f;
      if (!worst || *f > *worst) worst = *f, worst_scheme = scheme;
    }
    if (worst) {
      r["quantization_recovery"] = *worst;
      r["quantization_scheme"] = worst_scheme;
      r["quantization_recovery_by_scheme"] = by_scheme;
    }
  }
  // relearn_results_M.json: the last step's recovery of forget ROUGE-L.
  if (const json* steps = at(relearn, {"steps"}); steps && steps->is_array() && !steps->empty()) {
    const json& last = steps->back();
    if (const auto rec = number(last, {"recovery_rouge_l"})) r["relearning_recovery"] = *rec;
    if (const auto rec = number(last, {"recovery_prob"}))
      r["relearning_recovery_answer_prob"] = *rec;
    if (const auto step = number(last, {"step"})) r["relearning_steps"] = *step;
    if (relearn.contains("set")) r["relearning_set"] = relearn["set"];
  }
  // repr_results.json: the forget questions' probe accuracy, at the layer where it is highest.
  if (const json* acc = at(repr, {"models", model.c_str(), "forget", "probe_accuracy"});
      acc && acc->is_array() && !acc->empty()) {
    size_t best = 0;
    for (size_t l = 1; l < acc->size(); ++l)
      if ((*acc)[l].get<double>() > (*acc)[best].get<double>()) best = l;
    r["probe_accuracy"] = (*acc)[best];
    r["probe_layer"] = best;
    if (const json* ref = at(repr, {"reference", "forget", "probe_accuracy"});
        ref && ref->is_array() && ref->size() == acc->size())
      r["probe_accuracy_finetuned"] = (*ref)[best];
    if (const json* classes = at(repr, {"probe", "classes"}); classes && classes->is_array())
      r["probe_chance"] = 1.0 / double(std::max<size_t>(classes->size(), 1));
  }
  // eval_results.json: the membership attack farthest from chance (AUC 0.5).
  if (const json* mia = at(eval, {"models", model.c_str(), "aggregates", "mia"});
      mia && mia->is_object()) {
    std::optional<double> worst;
    std::string attack;
    for (const auto& [name, a] : mia->items()) {
      const auto auc = number(a, {"auc"});
      if (auc && (!worst || std::fabs(*auc - 0.5) > std::fabs(*worst - 0.5)))
        worst = auc, attack = name;
    }
    if (worst) {
      r["mia_auc"] = *worst;
      r["mia_attack"] = attack;
    }
  }
  return r;
}

// The method's settings: the unlearn section's common keys, then what the sweep recorded for it.
json method_config(const RunConfig& config, const json& sweep, const std::string& model,
                   std::string* method) {
  json out = config.document.at("unlearn");
  out.erase("methods");
  out.erase("intensities");
  out["seed"] = config.document.at("seed");
  const json* entry = nullptr;
  if (const json* configs = at(sweep, {"configs"}); configs && configs->is_array())
    for (const auto& c : *configs)
      if (c.value("name", "") == model) entry = &c;
  if (entry) {
    for (const char* k : {"method", "intensity", "epochs", "learning_rate", "params"})
      if (entry->contains(k)) out[k] = (*entry)[k];
  } else {  // no sweep record: the run config names it
    for (const auto& m : config.unlearn.methods)
      for (const auto& [label, epochs] : config.unlearn.intensities)
        if (model == "unlearn_" + m.name + "_" + label) {
          out["method"] = m.name;
          out["intensity"] = label;
          out["epochs"] = epochs;
          out["params"] = config.document.at("unlearn").at("methods").at(m.name);
        }
  }
  LETHE_CHECK(out.contains("method"), "audit: ", model,
              " is neither in sweep_results.json nor a method x intensity of the config");
  *method = out["method"].get<std::string>();
  return out;
}

json thresholds_json(const report::AuditThresholds& t) {
  auto v = [](const std::optional<double>& x) { return x ? json(*x) : json(nullptr); };
  return {{"max_forget_rouge_l", v(t.max_forget_rouge_l)},
          {"min_utility_ratio", v(t.min_utility_ratio)},
          {"max_quant_recovery", v(t.max_quant_recovery)},
          {"max_relearn_recovery", v(t.max_relearn_recovery)},
          {"max_probe_accuracy", v(t.max_probe_accuracy)},
          {"max_mia_auc_distance", v(t.max_mia_auc_distance)}};
}

}  // namespace

StageOutcome stage_audit(const RunContext& ctx, const std::string& inputs_sha,
                         const std::vector<std::string>& unlearned,
                         const std::vector<std::string>& measured) {
  const report::AuditThresholds& thresholds = ctx.config.audit;  // checked by run_config
  StageSpec spec{"audit",
                 {"audit.jsonl"},
                 {{"inputs", inputs_sha},
                  {"model", ctx.model_sha256},
                  {"models", unlearned},
                  {"measured", measured},
                  {"thresholds", thresholds_json(thresholds)}}};
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    auto fresh = [&](const std::string& stage) {
      return std::find(measured.begin(), measured.end(), stage) != measured.end();
    };
    const fs::path results = ctx.run_dir / "results";
    const fs::path eval_file = results / "eval_results.json";
    LETHE_CHECK(fs::exists(eval_file), "audit: ", eval_file.string(), " does not exist");
    const json eval = core::read_json(eval_file);
    const json sweep = read_if(results / "sweep_results.json");
    // A robustness file is read only when its stage produced it in this run (a failed stage
    // leaves an older file behind, which may describe other models).
    const json quantize = fresh("quantize") ? read_if(results / "quantize_results.json") : json();
    const json repr = fresh("repr") ? read_if(results / "repr_results.json") : json();
    const fs::path base_model = io::resolve_model_path(ctx.model);
    const std::string subject = forget_subject(ctx.run_dir / "data");
    const json before = eval_metrics(eval, "finetuned");
    const std::string run_key = core::sha256_hex(inputs_sha).substr(0, 12);

    std::vector<report::AuditRequest> requests;
    for (const auto& name : unlearned) {
      report::AuditRequest r;
      r.request_id = "run-" + run_key + "-" + name;
      r.subject = subject;
      r.forget_set = ctx.run_dir / "data" / "sf.jsonl";
      r.base_model = base_model;
      r.adapters["finetuned"] = model_dir(ctx, "finetuned");
      r.adapters["unlearned"] = model_dir(ctx, name);
      // The result files the numbers below come from, hashed beside the adapters.
      r.results["eval_results"] = eval_file;
      if (!sweep.is_null()) r.results["sweep_results"] = results / "sweep_results.json";
      if (!quantize.is_null()) r.results["quantize_results"] = results / "quantize_results.json";
      if (!repr.is_null()) r.results["repr_results"] = results / "repr_results.json";
      r.config = method_config(ctx.config, sweep, name, &r.method);
      r.config["model_name"] = name;
      r.metrics_before = before;
      r.metrics_after = eval_metrics(eval, name);
      const fs::path relearn_file = results / ("relearn_results_" + name + ".json");
      const json relearn = fresh("relearn") ? read_if(relearn_file) : json();
      if (!relearn.is_null()) r.results["relearn_results"] = relearn_file;
      r.robustness = robustness(eval, quantize, relearn, repr, name);
      requests.push_back(std::move(r));
    }
    const auto records = report::write_audit_ledger(tmp / "audit.jsonl", requests, thresholds,
                                                    ctx.run_dir);  // paths relative to RUN
    std::map<std::string, int> verdicts;
    for (const auto& rec : records) ++verdicts[rec["verdict"]["result"].get<std::string>()];
    std::string detail = std::to_string(records.size()) + " records:";
    for (const char* v : {"pass", "fail", "incomplete"})
      if (verdicts.count(v)) detail += " " + std::to_string(verdicts[v]) + " " + v;
    return detail;
  });
}

}  // namespace lethe::pipeline
