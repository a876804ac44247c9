// `lethe metrics NAME --jsonl FILE`: one registry metric over records given as JSON lines, with
// exactly the definitions the evaluator uses, so outputs of other systems can be scored the same
// way; `lethe metrics list` prints the registry.
#include <cstdio>
#include <functional>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "eval/benchmark_metrics.h"
#include "eval/exact_memorization.h"
#include "eval/extraction_strength.h"
#include "eval/generation_health.h"
#include "eval/ks_test.h"
#include "eval/metric_registry.h"
#include "eval/mia.h"
#include "eval/roc_auc.h"
#include "eval/rouge.h"
#include "eval/truth_ratio.h"

namespace lethe::cli {

namespace {

using core::json;

struct MetricsOptions {
  std::string name;
  std::string jsonl;
  std::string out;
  std::string mode = "forget";
  double min_k = 0.4;
  bool no_stem = false;
  bool lower_is_member = false;
};

std::string where(const std::string& path, size_t line) {
  return path + ":" + std::to_string(line);
}

double require_number(const json& record, const std::string& field, const std::string& at) {
  const json& v = core::require_field(record, field, at);
  LETHE_CHECK(v.is_number(), at, ": field '", field, "' must be a number");
  return v.get<double>();
}

std::vector<double> require_numbers(const json& record, const std::string& field,
                                    const std::string& at) {
  const json& v = core::require_field(record, field, at);
  LETHE_CHECK(v.is_array() && !v.empty(), at, ": field '", field,
              "' must be a non-empty array of numbers");
  std::vector<double> values;
  for (const auto& x : v) {
    LETHE_CHECK(x.is_number(), at, ": field '", field, "' must contain only numbers");
    values.push_back(x.get<double>());
  }
  return values;
}

// Reads every record of --jsonl; throws when there is none.
void for_each_record(const MetricsOptions& o,
                     const std::function<void(const json&, const std::string&)>& fn) {
  size_t count = 0;
  core::for_each_jsonl(o.jsonl, [&](const json& r, size_t line) {
    fn(r, where(o.jsonl, line));
    ++count;
  });
  LETHE_CHECK(count > 0, o.jsonl, ": no records");
}

json mean_result(const MetricsOptions& o, const std::vector<double>& per_example) {
  return {{"metric", o.name},
          {"count", per_example.size()},
          {"value", eval::mean_of(per_example)},
          {"per_example", per_example}};
}

json score_json(const eval::RougeScore& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"fmeasure", s.fmeasure}};
}

// rouge_l / rouge_1: {target, prediction} -> per-record P/R/F; value = mean recall (TOFU's).
json run_rouge(const MetricsOptions& o) {
  json per_example = json::array();
  eval::RougeScore mean;
  for_each_record(o, [&](const json& r, const std::string& at) {
    auto target = eval::rouge_tokenize(core::require_string(r, "target", at), !o.no_stem);
    auto prediction = eval::rouge_tokenize(core::require_string(r, "prediction", at), !o.no_stem);
    const auto s = o.name == "rouge_l" ? eval::rouge_l(target, prediction)
                                       : eval::rouge_n(target, prediction, 1);
    mean.precision += s.precision, mean.recall += s.recall, mean.fmeasure += s.fmeasure;
    per_example.push_back(score_json(s));
  });
  const double n = static_cast<double>(per_example.size());
  mean.precision /= n, mean.recall /= n, mean.fmeasure /= n;
  return {{"metric", o.name},     {"stemmer", !o.no_stem},    {"count", per_example.size()},
          {"value", mean.recall}, {"mean", score_json(mean)}, {"per_example", per_example}};
}

// muse_rouge / rwku_rouge: {target, prediction} -> the benchmark's ROUGE of each record (MUSE:
// ROUGE-L F1 without stemming of the prediction cut before the next question; RWKU: the `rouge`
// package's ROUGE-L recall of its first line); value = their mean.
json run_benchmark_rouge(const MetricsOptions& o) {
  std::vector<double> values;
  for_each_record(o, [&](const json& r, const std::string& at) {
    const std::string target = core::require_string(r, "target", at);
    const std::string prediction = core::require_string(r, "prediction", at);
    values.push_back(o.name == "muse_rouge"
                         ? eval::muse_rouge_l_f(target, eval::muse_answer_prefix(prediction))
                         : eval::rwku_rouge_l_recall(target, eval::rwku_prediction(prediction)));
  });
  return mean_result(o, values);
}

// answer_prob: {answer_nll} -> exp(-nll).
json run_answer_prob(const MetricsOptions& o) {
  std::vector<double> probs;
  for_each_record(o, [&](const json& r, const std::string& at) {
    probs.push_back(eval::answer_probability(require_number(r, "answer_nll", at)));
  });
  return mean_result(o, probs);
}

// truth_ratio: {paraphrased_nll, perturbed_nll: [...]} -> TOFU's forget or retain aggregate.
json run_truth_ratio(const MetricsOptions& o) {
  auto mode = eval::parse_truth_ratio_mode(o.mode);
  std::vector<double> ratios, scores;
  for_each_record(o, [&](const json& r, const std::string& at) {
    double paraphrased = require_number(r, "paraphrased_nll", at);
    auto perturbed = require_numbers(r, "perturbed_nll", at);
    ratios.push_back(eval::truth_ratio(paraphrased, perturbed));
    scores.push_back(eval::truth_ratio_score(ratios.back(), mode));
  });
  return {{"metric", o.name},       {"mode", o.mode},
          {"count", ratios.size()}, {"value", eval::truth_ratio_aggregate(ratios, mode)},
          {"per_example", scores},  {"truth_ratios", ratios}};
}

// forget_quality: {a: [...], b: [...]} -> one two-sample KS test per record (p-value = FQ).
json run_forget_quality(const MetricsOptions& o) {
  json per_example = json::array();
  for_each_record(o, [&](const json& r, const std::string& at) {
    auto a = require_numbers(r, "a", at), b = require_numbers(r, "b", at);
    eval::KsResult ks;
    try {
      ks = eval::ks_2samp(a, b);
    } catch (const Error& e) {
      LETHE_FAIL(at, ": ", e.what());
    }
    per_example.push_back({{"statistic", ks.statistic},
                           {"pvalue", ks.pvalue},
                           {"method", ks.method},
                           {"statistic_location", ks.location},
                           {"statistic_sign", ks.sign},
                           {"n_a", a.size()},
                           {"n_b", b.size()}});
  });
  return {{"metric", o.name}, {"count", per_example.size()}, {"per_example", per_example}};
}

// model_utility: {components: [...]} -> harmonic mean per record.
json run_model_utility(const MetricsOptions& o) {
  std::vector<double> values;
  for_each_record(o, [&](const json& r, const std::string& at) {
    try {
      values.push_back(eval::model_utility(require_numbers(r, "components", at)));
    } catch (const Error& e) {
      LETHE_FAIL(at, ": ", e.what());
    }
  });
  return mean_result(o, values);
}

// mia_*: {member, logp: [...]} (+ text for zlib, mu and sigma for Min-K%++) -> the attack's score
// per record and the ROC AUC; or {member, score} with a score computed elsewhere.
json run_mia(const MetricsOptions& o) {
  std::vector<double> members, nonmembers, scores;
  for_each_record(o, [&](const json& r, const std::string& at) {
    const json& member = core::require_field(r, "member", at);
    LETHE_CHECK(member.is_boolean(), at, ": field 'member' must be true or false");
    double score = 0.0;
    if (r.contains("score")) {
      score = require_number(r, "score", at);
      if (o.lower_is_member) score = -score;
    } else {
      const auto logp_values = require_numbers(r, "logp", at);
      const auto row = [&](const std::vector<double>& v) {
        LETHE_CHECK(v.size() == logp_values.size(), at,
                    ": mu / sigma must have as many entries "
                    "as logp (",
                    logp_values.size(), ")");
        return torch::tensor(v, torch::kFloat64).unsqueeze(0);
      };
      const auto logp = row(logp_values);
      const auto mask = torch::ones_like(logp, torch::kBool);
      torch::Tensor s;
      if (o.name == "mia_loss") s = eval::mia_loss_score(logp, mask);
      if (o.name == "mia_zlib")
        s = eval::mia_zlib_score(logp, mask, {core::require_string(r, "text", at)});
      if (o.name == "mia_min_k") s = eval::mia_min_k_score(logp, mask, o.min_k);
      if (o.name == "mia_min_k_plus_plus")
        s = eval::mia_min_k_plus_plus_score(logp, row(require_numbers(r, "mu", at)),
                                            row(require_numbers(r, "sigma", at)), mask, o.min_k);
      score = s[0].item<double>();
    }
    scores.push_back(score);
    (member.get<bool>() ? members : nonmembers).push_back(score);
  });
  LETHE_CHECK(!members.empty() && !nonmembers.empty(), o.jsonl,
              ": need at least one member and one non-member record (got ", members.size(), " and ",
              nonmembers.size(), ")");
  return {{"metric", o.name},
          {"auc", eval::roc_auc(members, nonmembers)},
          {"higher_score_means", o.lower_is_member ? "non-member" : "member"},
          {"n_members", members.size()},
          {"n_nonmembers", nonmembers.size()},
          {"per_example", scores}};
}

// privleak: {auc, reference_auc} -> (auc - reference) / reference per record.
json run_privleak(const MetricsOptions& o) {
  std::vector<double> values;
  for_each_record(o, [&](const json& r, const std::string& at) {
    const double reference = require_number(r, "reference_auc", at);
    LETHE_CHECK(reference > 0, at, ": field 'reference_auc' must be > 0");
    values.push_back(eval::privleak(require_number(r, "auc", at), reference));
  });
  return mean_result(o, values);
}

// muse_privleak: {auc, reference_auc} -> (auc - reference) / reference x 100 per record.
json run_muse_privleak(const MetricsOptions& o) {
  std::vector<double> values;
  for_each_record(o, [&](const json& r, const std::string& at) {
    const double reference = require_number(r, "reference_auc", at);
    LETHE_CHECK(reference > 0, at, ": field 'reference_auc' must be > 0");
    values.push_back(eval::muse_privleak(require_number(r, "auc", at), reference));
  });
  return mean_result(o, values);
}

// repetition_rate / distinct_1 / distinct_2: {generation} -> the value over the set.
json run_health(const MetricsOptions& o) {
  std::vector<eval::TokenSequence> generations;
  for_each_record(o, [&](const json& r, const std::string& at) {
    generations.push_back(eval::health_tokens(core::require_string(r, "generation", at)));
  });
  json out = {{"metric", o.name}, {"count", generations.size()}};
  if (o.name == "repetition_rate") {
    std::vector<double> per_example;
    for (const auto& g : generations) per_example.push_back(eval::repetition_rate(g, 2));
    out["value"] = eval::repetition_rate(generations, 2);
    out["per_example"] = per_example;
  } else {
    out["value"] = eval::distinct_n(generations, o.name == "distinct_1" ? 1 : 2);
  }
  return out;
}

// exact_memorization / extraction_strength: {predictions: [ids], labels: [ids]}, the
// teacher-forced argmax token at each answer position and the answer token there.
json run_memorization(const MetricsOptions& o) {
  std::vector<double> values;
  for_each_record(o, [&](const json& r, const std::string& at) {
    const auto predictions = require_numbers(r, "predictions", at);
    const auto labels = require_numbers(r, "labels", at);
    LETHE_CHECK(predictions.size() == labels.size(), at, ": 'predictions' has ", predictions.size(),
                " entries but 'labels' has ", labels.size());
    std::vector<uint8_t> match;
    for (size_t t = 0; t < labels.size(); ++t) match.push_back(predictions[t] == labels[t]);
    values.push_back(o.name == "exact_memorization" ? *eval::exact_memorization(match)
                                                    : eval::extraction_strength(match));
  });
  return mean_result(o, values);
}

using Runner = json (*)(const MetricsOptions&);
struct Scorer {
  const char* record;
  Runner run;
};

// The record format and scorer of each registry metric (add_metrics_command checks it covers all).
const std::map<std::string, Scorer>& scorers() {
  static const std::map<std::string, Scorer> table = {
      {"rouge_l", {"{target, prediction}", run_rouge}},
      {"rouge_1", {"{target, prediction}", run_rouge}},
      {"answer_prob", {"{answer_nll}", run_answer_prob}},
      {"truth_ratio", {"{paraphrased_nll, perturbed_nll: [numbers]}", run_truth_ratio}},
      {"exact_memorization", {"{predictions: [ids], labels: [ids]}", run_memorization}},
      {"extraction_strength", {"{predictions: [ids], labels: [ids]}", run_memorization}},
      {"forget_quality", {"{a: [numbers], b: [numbers]}", run_forget_quality}},
      {"model_utility", {"{components: [numbers]}", run_model_utility}},
      {"tofu_model_utility", {"{components: [numbers]} (TOFU's 9)", run_model_utility}},
      {"mia_loss", {"{member, logp: [numbers]} or {member, score}", run_mia}},
      {"mia_zlib", {"{member, logp: [numbers], text} or {member, score}", run_mia}},
      {"mia_min_k", {"{member, logp: [numbers]} or {member, score}", run_mia}},
      {"mia_min_k_plus_plus", {"{member, logp, mu, sigma: [numbers]} or {member, score}", run_mia}},
      {"privleak", {"{auc, reference_auc}", run_privleak}},
      {"muse_rouge", {"{target, prediction}", run_benchmark_rouge}},
      {"muse_privleak", {"{auc, reference_auc}", run_muse_privleak}},
      {"rwku_rouge", {"{target, prediction}", run_benchmark_rouge}},
      {"repetition_rate", {"{generation}", run_health}},
      {"distinct_1", {"{generation}", run_health}},
      {"distinct_2", {"{generation}", run_health}},
  };
  return table;
}

std::string registry_names() {
  std::string valid;
  for (const auto& m : eval::metric_registry()) valid += (valid.empty() ? "" : ", ") + m.name;
  return valid;
}

// name, higher_is_better, inputs, source: one tab-separated line per registry metric.
std::string registry_table() {
  std::string out = "name\thigher_is_better\tinputs\tsource\n";
  for (const auto& m : eval::metric_registry()) {
    std::string inputs;
    for (const auto input : m.inputs)
      inputs += (inputs.empty() ? "" : ",") + eval::metric_input_name(input);
    out += m.name + "\t" + (m.higher_is_better ? "true" : "false") + "\t" + inputs + "\t" +
           m.source + "\n";
  }
  return out;
}

void run(MetricsOptions o) {
  apply_global_options();
  for (char& c : o.name)
    if (c == '-') c = '_';  // truth-ratio == truth_ratio
  if (o.name == "list") {
    std::printf("%s", registry_table().c_str());
    return;
  }
  const auto it = scorers().find(o.name);
  if (it == scorers().end())
    throw UsageError("unknown metric '" + o.name + "' (valid: list, " + registry_names() + ")");
  if (o.jsonl.empty()) throw UsageError("metrics " + o.name + ": --jsonl FILE is required");
  json result = it->second.run(o);
  if (o.out.empty())
    std::printf("%s\n", result.dump(2).c_str());
  else
    core::write_json(o.out, result);
}

}  // namespace

void add_metrics_command(CLI::App& app) {
  auto o = std::make_shared<MetricsOptions>();
  std::string help =
      "score records with lethe's metric definitions (registry names; `lethe metrics list` "
      "prints the registry); METRIC and record format:";
  for (const auto& m : eval::metric_registry()) {
    const auto it = scorers().find(m.name);
    LETHE_CHECK(it != scorers().end(), "lethe metrics: registry metric '", m.name,
                "' has no record scorer in cmd_metrics.cpp");
    help += "\n  " + m.name + ": " + it->second.record;
  }
  auto* cmd = app.add_subcommand("metrics", help);
  cmd->add_option("metric", o->name, "a registry metric name, or 'list'")->required();
  cmd->add_option("--jsonl", o->jsonl, "input records, one JSON object per line")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out,
                  "write the JSON result here (atomically); default: print to stdout")
      ->capture_default_str();
  cmd->add_option("--mode", o->mode,
                  "truth_ratio aggregation: forget (min(r,1/r)) | retain (max(0,1-1/r))")
      ->check(CLI::IsMember({"forget", "retain"}))
      ->capture_default_str();
  cmd->add_option("--min-k", o->min_k, "mia_min_k / mia_min_k_plus_plus: the fraction k")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_flag(
      "--no-stem", o->no_stem,
      "rouge_l / rouge_1: no Porter stemming (default: off, i.e. stem tokens longer than 3 "
      "characters as rouge_score with use_stemmer=True)");
  cmd->add_flag("--lower-is-member", o->lower_is_member,
                "mia_* with {member, score}: a lower score means member, e.g. raw NLL (default: "
                "off, higher = member)");
  cmd->callback([o] { run(*o); });
}

}  // namespace lethe::cli
