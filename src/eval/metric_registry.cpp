// The metric list: adding a metric = one file with its descriptor + one line here +
// docs/metrics.md.
#include "eval/metric_registry.h"

#include <algorithm>

#include "core/error.h"
#include "eval/metrics.h"

namespace lethe::eval {

bool MetricDescriptor::reads(MetricInput input) const {
  return std::find(inputs.begin(), inputs.end(), input) != inputs.end();
}

const std::vector<MetricDescriptor>& metric_registry() {
  // Order matters where a metric reads another's aggregates: model_utility after the set-level
  // metrics, privleak after the MIA attacks.
  static const std::vector<MetricDescriptor> registry = {
      rouge_l_metric(),
      rouge_1_metric(),
      answer_prob_metric(),
      truth_ratio_metric(),
      exact_memorization_metric(),
      extraction_strength_metric(),
      forget_quality_metric(),
      model_utility_metric(),
      tofu_model_utility_metric(),
      mia_loss_metric(),
      mia_zlib_metric(),
      mia_min_k_metric(),
      mia_min_k_plus_plus_metric(),
      privleak_metric(),
      muse_rouge_metric(),
      muse_privleak_metric(),
      rwku_rouge_metric(),
      repetition_rate_metric(),
      distinct_1_metric(),
      distinct_2_metric(),
  };
  return registry;
}

const MetricDescriptor& find_metric(const std::string& name) {
  std::string valid;
  for (const auto& metric : metric_registry()) {
    if (metric.name == name) return metric;
    valid += (valid.empty() ? "" : ", ") + metric.name;
  }
  LETHE_FAIL("unknown metric '", name, "' (valid: ", valid, ")");
}

std::string metric_input_name(MetricInput input) {
  switch (input) {
    case MetricInput::kGeneration:
      return "generation";
    case MetricInput::kAnswerNll:
      return "answer_nll";
    case MetricInput::kAnswerArgmax:
      return "answer_argmax";
    case MetricInput::kPerturbedNll:
      return "perturbed_nll";
    case MetricInput::kTokenLogprobs:
      return "token_logprobs";
    case MetricInput::kLogprobMoments:
      return "logprob_moments";
    case MetricInput::kTruthRatioSample:
      return "truth_ratio_sample";
    case MetricInput::kAggregates:
      return "aggregates";
  }
  return "unknown";
}

double mean_of(const std::vector<double>& values) {
  if (values.empty()) return 0.0;
  double s = 0.0;
  for (double x : values) s += x;
  return s / static_cast<double>(values.size());
}

}  // namespace lethe::eval
