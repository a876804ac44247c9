// Exact memorization (exact_memorization.h) and its registry descriptor.
#include "eval/exact_memorization.h"

#include "eval/metrics.h"
#include "eval/results_schema.h"

namespace lethe::eval {

std::optional<double> exact_memorization(const std::vector<uint8_t>& match) {
  if (match.empty()) return std::nullopt;
  double hits = 0.0;
  for (const uint8_t m : match) hits += m ? 1.0 : 0.0;
  return hits / static_cast<double>(match.size());
}

std::vector<uint8_t> answer_tokens_without_end(const std::vector<uint8_t>& scored) {
  if (scored.empty()) return {};
  return {scored.begin(), scored.end() - 1};
}

MetricDescriptor exact_memorization_metric() {
  MetricDescriptor m{"exact_memorization",
                     "fraction of answer tokens equal to the teacher-forced argmax prediction",
                     {MetricInput::kAnswerArgmax},
                     true,
                     "Tirumala et al. 2022; open-unlearning exact_memorization"};
  m.result_keys = {schema::kExactMemorization};
  m.gap_keys = m.result_keys;
  m.per_example = [](QaEval& e) {
    if (const auto em = exact_memorization(answer_tokens_without_end(e.answer_argmax_match)))
      e.values[schema::kExactMemorization] = *em;
  };
  m.set_value = [](const QaSetView& set, json& out) {
    // open-unlearning: examples without answer tokens (None) are left out of the mean.
    std::vector<double> values;
    for (const auto* e : set.items)
      if (const auto it = e->values.find(schema::kExactMemorization); it != e->values.end())
        values.push_back(it->second);
    if (!values.empty()) out[schema::kExactMemorization] = mean_of(values);
  };
  return m;
}

}  // namespace lethe::eval
