// The metric list: adding a metric = one file with its function + one line here + docs/metrics.md.
#include "eval/metric_registry.h"

#include <numeric>

#include "core/error.h"

namespace lethe::eval {

nlohmann::json to_json(const MetricResult& result) {
  return {{"value", result.value}, {"per_example", result.per_example}};
}

MetricResult mean_result(std::vector<double> per_example, const std::string& metric_name) {
  LETHE_CHECK(!per_example.empty(), metric_name, ": no examples to average");
  MetricResult result;
  result.value = std::accumulate(per_example.begin(), per_example.end(), 0.0) /
                 static_cast<double>(per_example.size());
  result.per_example = std::move(per_example);
  return result;
}

const std::vector<MetricDescriptor>& metric_registry() {
  using I = MetricInput;
  static const std::vector<MetricDescriptor> registry = {
      {"rouge_l",
       "ROUGE-L recall of the greedy generation against the answer (F also reported)",
       {I::kGeneration},
       true,
       "rouge_score RougeScorer(['rougeL'], use_stemmer=True), as TOFU"},
      {"rouge_1",
       "ROUGE-1 recall of the greedy generation against the answer",
       {I::kGeneration},
       true,
       "rouge_score RougeScorer(['rouge1'], use_stemmer=True)"},
      {"answer_prob",
       "exp(-mean token NLL) of the answer given the question",
       {I::kAnswerNll},
       true,
       "TOFU get_model_utility (Probability)"},
      {"truth_ratio",
       "forget: mean min(r, 1/r); retain: mean max(0, 1 - 1/r); "
       "r = exp(mean nll(perturbed) - nll(paraphrased))",
       {I::kPerturbedNll},
       true,
       "TOFU get_model_utility (Truth Ratio)"},
      {"forget_quality",
       "KS-test p-value between the unlearned and the retain-only model's forget-set "
       "truth ratios",
       {I::kTruthRatioSample},
       true,
       "TOFU get_forget_quality; scipy.stats.ks_2samp"},
      {"model_utility",
       "harmonic mean of answer_prob, rouge_l and truth_ratio on retain and utility sets",
       {I::kAggregates},
       true,
       "TOFU get_model_utility (scipy.stats.hmean)"},
      {"mia_loss",
       "ROC AUC, forget (members) vs holdout, of -mean NLL",
       {I::kTokenLogprobs},
       false,
       "Yeom et al. 2018; MUSE"},
      {"mia_zlib",
       "ROC AUC of -mean NLL / zlib-compressed length",
       {I::kTokenLogprobs},
       false,
       "Carlini et al. 2021; MUSE"},
      {"mia_min_k",
       "ROC AUC of the mean of the lowest k (0.4) token log-probs",
       {I::kTokenLogprobs},
       false,
       "Min-K% Prob, Shi et al. 2024"},
      {"mia_min_k_plus_plus",
       "ROC AUC of the mean of the lowest k (0.4) of (log p - mu) / sigma",
       {I::kTokenLogprobs},
       false,
       "Min-K%++, Zhang et al. 2024"},
      {"privleak",
       "(AUC_unlearned - AUC_retain_model) / AUC_retain_model of an MIA score",
       {I::kAggregates},
       false,
       "MUSE, Shi et al. 2024"},
      {"repetition_rate",
       "mean over generations of 1 - distinct/total word 2-grams",
       {I::kGeneration},
       false,
       "seq-rep-n, Welleck et al. 2019"},
      {"distinct_1",
       "distinct word 1-grams / all 1-grams over all generations",
       {I::kGeneration},
       true,
       "Li et al. 2016"},
      {"distinct_2",
       "distinct word 2-grams / all 2-grams over all generations",
       {I::kGeneration},
       true,
       "Li et al. 2016"},
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
    case MetricInput::kPerturbedNll:
      return "perturbed_nll";
    case MetricInput::kTokenLogprobs:
      return "token_logprobs";
    case MetricInput::kTruthRatioSample:
      return "truth_ratio_sample";
    case MetricInput::kAggregates:
      return "aggregates";
  }
  return "unknown";
}

}  // namespace lethe::eval
