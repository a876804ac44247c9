// Generation health (generation_health.h) as registry descriptors, over every greedy generation of
// one model: QA sets and probes together.
#include "eval/generation_health.h"
#include "eval/metrics.h"
#include "eval/results_schema.h"

namespace lethe::eval {

namespace {

using I = MetricInput;

std::vector<TokenSequence> generations(const ModelEval& eval) {
  std::vector<TokenSequence> gens;
  for (const auto* set : {&eval.forget, &eval.retain, &eval.world})
    for (const auto& e : *set) gens.push_back(health_tokens(e.generation));
  for (const auto& p : eval.probes) gens.push_back(health_tokens(p.generation));
  return gens;
}

MetricDescriptor health_metric(const std::string& name, std::string description, bool higher,
                               std::string source,
                               double (*value)(const std::vector<TokenSequence>&)) {
  MetricDescriptor m{name, std::move(description), {I::kGeneration}, higher, std::move(source)};
  m.result_keys = {std::string(schema::kHealth) + "/" + name};
  m.model_value = [name, value](const ModelView& model, json& aggregates) {
    aggregates[schema::kHealth][name] = value(generations(model.eval));
  };
  return m;
}

}  // namespace

MetricDescriptor repetition_rate_metric() {
  return health_metric("repetition_rate",
                       "mean over generations of 1 - distinct/total word 2-grams", false,
                       "seq-rep-n, Welleck et al. 2019",
                       [](const std::vector<TokenSequence>& g) { return repetition_rate(g, 2); });
}

MetricDescriptor distinct_1_metric() {
  return health_metric("distinct_1", "distinct word 1-grams / all 1-grams over all generations",
                       true, "Li et al. 2016",
                       [](const std::vector<TokenSequence>& g) { return distinct_n(g, 1); });
}

MetricDescriptor distinct_2_metric() {
  return health_metric("distinct_2", "distinct word 2-grams / all 2-grams over all generations",
                       true, "Li et al. 2016",
                       [](const std::vector<TokenSequence>& g) { return distinct_n(g, 2); });
}

}  // namespace lethe::eval
