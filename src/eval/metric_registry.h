// The explicit list of lethe's metrics: one snake_case name per metric (the results key, the config
// value and the `lethe metrics` value), what it needs, and its source. The evaluator and docs
// enumerate it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::eval {

// What a metric is computed from.
enum class MetricInput {
  kGeneration,        // greedy generations vs target answers (text)
  kAnswerNll,         // mean token NLL of the answer given the question
  kPerturbedNll,      // mean NLLs of the paraphrased and perturbed answers
  kTokenLogprobs,     // per-token log-probs (and the model's distribution, for Min-K%++)
  kTruthRatioSample,  // truth ratios of the unlearned model and of the retain-only model
  kAggregates,        // other metrics' values
};

struct MetricDescriptor {
  std::string name;
  std::string description;
  std::vector<MetricInput> inputs;
  bool higher_is_better;  // for the model being evaluated on the retain/utility side (forget: see
                          // docs)
  std::string source;     // where the definition comes from
};

// One metric value with the per-example values it aggregates (empty for set-level metrics).
struct MetricResult {
  double value = 0.0;
  std::vector<double> per_example;
};

nlohmann::json to_json(const MetricResult& result);

// Mean of per-example values (throws on an empty list) as a MetricResult.
MetricResult mean_result(std::vector<double> per_example, const std::string& metric_name);

const std::vector<MetricDescriptor>& metric_registry();

// The descriptor for `name`; throws lethe::Error listing every valid name when unknown.
const MetricDescriptor& find_metric(const std::string& name);

std::string metric_input_name(MetricInput input);

}  // namespace lethe::eval
