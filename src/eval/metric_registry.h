// The explicit list of lethe's metrics. A metric is one descriptor (one file, declared in
// metrics.h, one line in metric_registry.cpp): its snake_case name (the config value and the
// `lethe metrics` value), what it is computed from, the result keys it writes and the functions
// that compute them over the per-example records (eval_records.h). The evaluator loops over it.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "eval/eval_records.h"
#include "eval/truth_ratio.h"

namespace lethe::eval {

// What a metric is computed from; the evaluator makes only the model calls enabled metrics need.
enum class MetricInput {
  kGeneration,        // greedy generations vs target answers (text)
  kAnswerNll,         // mean token NLL of the answer given the question
  kAnswerArgmax,      // teacher-forced argmax predictions on the answer tokens
  kPerturbedNll,      // mean NLLs of the paraphrased and perturbed answers
  kTokenLogprobs,     // per-token log-probs of forget and holdout answers
  kLogprobMoments,    // mean / std of log p under the model's distribution at each answer token
  kTruthRatioSample,  // truth ratios of the unlearned model and of the retain-only model
  kAggregates,        // other metrics' values
};

// One QA set of one model, as a set-level metric sees it (items never empty).
struct QaSetView {
  std::string name;  // forget | retain | retain_correlated | retain_other | world
  std::vector<const QaEval*> items;
  TruthRatioMode mode;   // forget: min(r, 1/r); every other set: max(0, 1 - 1/r)
  bool normalized_prob;  // world: TOFU's p(true) / (p(true) + sum_k p(perturbed_k))
};

// One model, as a model-level metric sees it.
struct ModelView {
  const ModelEval& eval;
  const ModelEval* reference;            // the retain-only model's evaluation, or null
  const std::set<std::string>& enabled;  // the resolved metric names
};

using json = nlohmann::json;

struct MetricDescriptor {
  std::string name;
  std::string description;
  std::vector<MetricInput> inputs;
  bool higher_is_better;  // for the model being evaluated on the retain/utility side (forget: see
                          // docs)
  std::string source;     // where the definition comes from
  // Keys it writes: set-level metrics into every QA set's aggregates (and per-example rows);
  // model-level ones as '/'-paths under the model's aggregates ("mia/loss/auc").
  std::vector<std::string> result_keys;
  std::vector<std::string> gap_keys;  // set-level keys also reported in retain_gap
  std::vector<std::string> needs;     // metrics it is computed from (enabled along with it)
  bool needs_retain_model = false;    // forget_quality, privleak
  // "" = a metric of every dataset; a benchmark name ("muse", "rwku"): that benchmark's own
  // variant, in the default metric set only of folders imported from it (manifest "benchmark").
  std::string benchmark;
  // Set-level metrics: per question, writes its values into record.values (may be empty), then
  // the set aggregate into `out` (called only for a non-empty set).
  std::function<void(QaEval& record)> per_example;
  std::function<void(const QaSetView& set, json& out)> set_value;
  // Model-level metrics: reads the records (and the set aggregates already in `aggregates`) and
  // writes its keys into `aggregates`; leaves them out when its inputs are absent.
  std::function<void(const ModelView& model, json& aggregates)> model_value;

  bool reads(MetricInput input) const;
};

const std::vector<MetricDescriptor>& metric_registry();

// The descriptor for `name`; throws lethe::Error listing every valid name when unknown.
const MetricDescriptor& find_metric(const std::string& name);

// "generation", "answer_nll", ... (the names `lethe metrics list` prints).
std::string metric_input_name(MetricInput input);

// Mean of per-example values; 0 for an empty list.
double mean_of(const std::vector<double>& values);

}  // namespace lethe::eval
