// The layout of lethe's results files (eval_results.json, quantize_results.json,
// relearn_results*.json) as named keys, and the typed readers every consumer uses (report, plots,
// audit, run summary). Writers take the same names, so a key is spelled once. See
// docs/evaluation.md for the documents themselves.
#pragma once
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lethe::eval::schema {

using json = nlohmann::json;

// eval_results.json: models.NAME.{aggregates, per_example}.
inline constexpr const char* kModels = "models";
inline constexpr const char* kAggregates = "aggregates";
inline constexpr const char* kPerExample = "per_example";
inline constexpr const char* kRetainReference = "retain_reference";

// The QA sets of aggregates (and per_example rows: forget, retain, world).
inline constexpr const char* kForget = "forget";
inline constexpr const char* kRetain = "retain";
inline constexpr const char* kRetainCorrelated = "retain_correlated";
inline constexpr const char* kRetainOther = "retain_other";
inline constexpr const char* kRetainGap = "retain_gap";  // retain_other - retain_correlated
inline constexpr const char* kWorld = "world";
inline constexpr const char* kCount = "n";

// Per-set result keys (aggregates.SET.KEY and per-example rows).
inline constexpr const char* kRougeLRecall = "rouge_l_recall";
inline constexpr const char* kRougeLF = "rouge_l_f";
inline constexpr const char* kRouge1Recall = "rouge_1_recall";
inline constexpr const char* kAnswerProb = "answer_prob";
inline constexpr const char* kTruthRatio = "truth_ratio";
inline constexpr const char* kExactMemorization = "exact_memorization";
inline constexpr const char* kExtractionStrength = "extraction_strength";
// Benchmark variants (MUSE, RWKU), on folders imported from them: the set mean, and the mean over
// each of the benchmark's own sets within it (MUSE knowmem / verbmem; RWKU levels 1-3).
inline constexpr const char* kMuseRougeLF = "muse_rouge_l_f";
inline constexpr const char* kMuseRougeLFKnowmem = "muse_rouge_l_f_knowmem";
inline constexpr const char* kMuseRougeLFVerbmem = "muse_rouge_l_f_verbmem";
inline constexpr const char* kRwkuRougeLRecall = "rwku_rouge_l_recall";
inline constexpr const char* kRwkuRougeLRecallLevel = "rwku_rouge_l_recall_level";  // + 1|2|3

// Model-level result keys (aggregates.KEY).
inline constexpr const char* kModelUtility = "model_utility";
inline constexpr const char* kTofuModelUtility = "tofu_model_utility";  // TOFU's 9-way MU
inline constexpr const char* kForgetQuality = "forget_quality";
inline constexpr const char* kForgetQualityKs = "forget_quality_ks_statistic";
inline constexpr const char* kMia = "mia";  // aggregates.mia.ATTACK.{auc, privleak}
inline constexpr const char* kAuc = "auc";
inline constexpr const char* kPrivleak = "privleak";
inline constexpr const char* kMusePrivleak = "muse_privleak";  // aggregates.muse_privleak
inline constexpr const char* kHealth = "health";  // aggregates.health.{repetition_rate, ...}
inline constexpr const char* kProbes = "probes";  // aggregates.probes.TYPE.{n, rouge_l_recall, ...}
inline constexpr const char* kAccuracy = "accuracy";

// quantize_results.json: models.M.schemes.S.recovery.forget_KEY.{before, after, delta,
// recovered_fraction}.
inline constexpr const char* kSchemes = "schemes";
inline constexpr const char* kRecovery = "recovery";
inline constexpr const char* kBefore = "before";
inline constexpr const char* kAfter = "after";
inline constexpr const char* kRecoveredFraction = "recovered_fraction";

// relearn_results*.json: steps[].{step, forget_rouge_l, recovery_rouge_l, recovery_prob}.
inline constexpr const char* kSteps = "steps";
inline constexpr const char* kStep = "step";
inline constexpr const char* kRelearnForgetRougeL = "forget_rouge_l";
inline constexpr const char* kRelearnRecoveryRougeL = "recovery_rouge_l";
inline constexpr const char* kRelearnRecoveryProb = "recovery_prob";

// metrics.jsonl of a training run with evaluation during training (train/training_eval.h): besides
// the loss rows, rows {kind: "eval", step, epoch, forget_rouge_l, forget_answer_prob,
// retain_rouge_l, retain_answer_prob, forget_n, retain_n, eval_s, stop_met}; the run's
// sweep_results.json configs then carry stop_when and stop_step.
inline constexpr const char* kRowKind = "kind";
inline constexpr const char* kEvalRow = "eval";
inline constexpr const char* kStopMet = "stop_met";
inline constexpr const char* kTrainForgetRougeL = "forget_rouge_l";
inline constexpr const char* kTrainForgetAnswerProb = "forget_answer_prob";
inline constexpr const char* kTrainRetainRougeL = "retain_rouge_l";
inline constexpr const char* kTrainRetainAnswerProb = "retain_answer_prob";
inline constexpr const char* kStopWhen = "stop_when";
inline constexpr const char* kStopStep = "stop_step";

// The value at a path of object keys, or null when any step is missing or not an object.
const json* at(const json& doc, std::initializer_list<std::string_view> path);

// The number at a path, or nullopt when absent or not a number.
std::optional<double> number_at(const json& doc, std::initializer_list<std::string_view> path);
// The same with a '/'-separated path ("forget/rouge_l_recall").
std::optional<double> number_at(const json& doc, std::string_view slash_path);

// models.NAME.aggregates of an eval_results.json document, or null.
const json* model_aggregates(const json& eval_results, std::string_view model);

// aggregates.SET.KEY (SET one of the QA sets above, or retain_gap).
std::optional<double> set_metric(const json& aggregates, std::string_view set,
                                 std::string_view key);

// aggregates.KEY for a model-level key (model_utility, forget_quality, ...).
std::optional<double> model_metric(const json& aggregates, std::string_view key);

// The recovery key of a forget-set result key in quantize_results.json ("forget_rouge_l_recall").
std::string recovery_key(std::string_view key);

// One model x scheme of quantize_results.json for one forget-set key.
struct QuantRecovery {
  std::string model, scheme;
  double before = 0.0, after = 0.0;
  std::optional<double> recovered_fraction;
};

// Every model x scheme that reports recovery.forget_KEY.{before, after}, in file order.
std::vector<QuantRecovery> quant_recoveries(const json& quantize_results, std::string_view key);

}  // namespace lethe::eval::schema
