// `lethe metrics KIND --jsonl FILE`: one metric over records given as JSON lines, with exactly the
// definitions the evaluator uses, so outputs of other systems can be scored the same way.
#include <cstdio>
#include <functional>
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "eval/generation_health.h"
#include "eval/ks_test.h"
#include "eval/roc_auc.h"
#include "eval/rouge.h"
#include "eval/truth_ratio.h"

namespace lethe::cli {

namespace {

using core::json;

struct MetricsOptions {
  std::string kind;
  std::string jsonl;
  std::string out;
  std::string mode = "forget";
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

json score_json(const eval::RougeScore& s) {
  return {{"precision", s.precision}, {"recall", s.recall}, {"fmeasure", s.fmeasure}};
}

// {target, prediction} -> per-record rougeL / rouge1 and their means.
json run_rouge(const MetricsOptions& o) {
  json per_example = json::array();
  eval::RougeScore mean_l, mean_1;
  core::for_each_jsonl(o.jsonl, [&](const json& r, size_t line) {
    auto at = where(o.jsonl, line);
    auto target = core::require_string(r, "target", at);
    auto prediction = core::require_string(r, "prediction", at);
    auto target_tokens = eval::rouge_tokenize(target, !o.no_stem);
    auto prediction_tokens = eval::rouge_tokenize(prediction, !o.no_stem);
    auto l = eval::rouge_l(target_tokens, prediction_tokens);
    auto one = eval::rouge_n(target_tokens, prediction_tokens, 1);
    for (auto [mean, s] : {std::pair{&mean_l, l}, std::pair{&mean_1, one}}) {
      mean->precision += s.precision, mean->recall += s.recall, mean->fmeasure += s.fmeasure;
    }
    per_example.push_back({{"rougeL", score_json(l)}, {"rouge1", score_json(one)}});
  });
  LETHE_CHECK(!per_example.empty(), o.jsonl, ": no records");
  double n = static_cast<double>(per_example.size());
  for (auto* mean : {&mean_l, &mean_1})
    mean->precision /= n, mean->recall /= n, mean->fmeasure /= n;
  return {{"metric", "rouge"},
          {"stemmer", !o.no_stem},
          {"count", per_example.size()},
          {"mean", {{"rougeL", score_json(mean_l)}, {"rouge1", score_json(mean_1)}}},
          {"per_example", per_example}};
}

// {a: [...], b: [...]} -> one two-sample KS test per record.
json run_ks(const MetricsOptions& o) {
  json per_example = json::array();
  core::for_each_jsonl(o.jsonl, [&](const json& r, size_t line) {
    auto at = where(o.jsonl, line);
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
  LETHE_CHECK(!per_example.empty(), o.jsonl, ": no records");
  return {{"metric", "ks"}, {"count", per_example.size()}, {"per_example", per_example}};
}

// {paraphrased_nll, perturbed_nll: [...]} -> truth ratios and TOFU's forget or retain aggregate.
json run_truth_ratio(const MetricsOptions& o) {
  auto mode = eval::parse_truth_ratio_mode(o.mode);
  std::vector<double> ratios, scores;
  core::for_each_jsonl(o.jsonl, [&](const json& r, size_t line) {
    auto at = where(o.jsonl, line);
    double paraphrased = require_number(r, "paraphrased_nll", at);
    auto perturbed = require_numbers(r, "perturbed_nll", at);
    ratios.push_back(eval::truth_ratio(paraphrased, perturbed));
    scores.push_back(eval::truth_ratio_score(ratios.back(), mode));
  });
  LETHE_CHECK(!ratios.empty(), o.jsonl, ": no records");
  return {{"metric", "truth_ratio"}, {"mode", o.mode},
          {"count", ratios.size()},  {"value", eval::truth_ratio_aggregate(ratios, mode)},
          {"per_example", scores},   {"truth_ratios", ratios}};
}

// {member: bool, score} -> ROC AUC of members vs non-members.
json run_mia(const MetricsOptions& o) {
  std::vector<double> members, nonmembers;
  core::for_each_jsonl(o.jsonl, [&](const json& r, size_t line) {
    auto at = where(o.jsonl, line);
    const json& member = core::require_field(r, "member", at);
    LETHE_CHECK(member.is_boolean(), at, ": field 'member' must be true or false");
    double score = require_number(r, "score", at);
    (member.get<bool>() ? members : nonmembers).push_back(o.lower_is_member ? -score : score);
  });
  LETHE_CHECK(!members.empty() && !nonmembers.empty(), o.jsonl,
              ": need at least one member and one non-member record (got ", members.size(), " and ",
              nonmembers.size(), ")");
  return {{"metric", "mia"},
          {"auc", eval::roc_auc(members, nonmembers)},
          {"higher_score_means", o.lower_is_member ? "non-member" : "member"},
          {"n_members", members.size()},
          {"n_nonmembers", nonmembers.size()}};
}

// {generation} -> repetition rate (2-grams) and distinct-1/2 over the set.
json run_generation_health(const MetricsOptions& o) {
  std::vector<eval::TokenSequence> generations;
  core::for_each_jsonl(o.jsonl, [&](const json& r, size_t line) {
    generations.push_back(
        eval::health_tokens(core::require_string(r, "generation", where(o.jsonl, line))));
  });
  LETHE_CHECK(!generations.empty(), o.jsonl, ": no records");
  std::vector<double> per_example;
  for (const auto& g : generations) per_example.push_back(eval::repetition_rate(g, 2));
  return {{"metric", "generation_health"},
          {"count", generations.size()},
          {"repetition_rate", eval::repetition_rate(generations, 2)},
          {"distinct_1", eval::distinct_n(generations, 1)},
          {"distinct_2", eval::distinct_n(generations, 2)},
          {"per_example", {{"repetition_rate", per_example}}}};
}

struct Kind {
  const char* name;
  const char* record;
  json (*run)(const MetricsOptions&);
};

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> table = {
      {"rouge", "{target, prediction}", run_rouge},
      {"ks", "{a: [numbers], b: [numbers]}", run_ks},
      {"truth_ratio", "{paraphrased_nll, perturbed_nll: [numbers]}", run_truth_ratio},
      {"mia", "{member: true|false, score}", run_mia},
      {"generation_health", "{generation}", run_generation_health},
  };
  return table;
}

void run(const MetricsOptions& o) {
  apply_global_options();
  std::string kind = o.kind;
  for (char& c : kind)
    if (c == '-') c = '_';  // truth-ratio == truth_ratio
  std::string valid;
  for (const auto& k : kinds()) {
    if (k.name == kind) {
      json result = k.run(o);
      if (o.out.empty()) {
        std::printf("%s\n", result.dump(2).c_str());
      } else {
        core::write_json(o.out, result);
      }
      return;
    }
    valid += (valid.empty() ? "" : ", ") + std::string(k.name);
  }
  throw UsageError("unknown metric '" + o.kind + "' (valid: " + valid + ")");
}

}  // namespace

void add_metrics_command(CLI::App& app) {
  auto o = std::make_shared<MetricsOptions>();
  std::string help = "score records with lethe's metric definitions; METRIC and record format:";
  for (const auto& k : kinds()) help += std::string("\n  ") + k.name + ": " + k.record;
  auto* cmd = app.add_subcommand("metrics", help);
  cmd->add_option("metric", o->kind,
                  "rouge | ks | truth_ratio (truth-ratio) | mia | generation_health")
      ->required();
  cmd->add_option("--jsonl", o->jsonl, "input records, one JSON object per line")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out,
                  "write the JSON result here (atomically); default: print to stdout")
      ->capture_default_str();
  cmd->add_option("--mode", o->mode,
                  "truth_ratio aggregation: forget (min(r,1/r)) | retain (max(0,1-1/r))")
      ->check(CLI::IsMember({"forget", "retain"}))
      ->capture_default_str();
  cmd->add_flag(
      "--no-stem", o->no_stem,
      "rouge: no Porter stemming (default: off, i.e. stem tokens longer than 3 characters "
      "as rouge_score with use_stemmer=True)");
  cmd->add_flag("--lower-is-member", o->lower_is_member,
                "mia: a lower score means member, e.g. raw NLL (default: off, higher = member)");
  cmd->callback([o] { run(*o); });
}

}  // namespace lethe::cli
