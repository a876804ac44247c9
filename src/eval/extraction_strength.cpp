// Extraction strength (extraction_strength.h) and its registry descriptor.
#include "eval/extraction_strength.h"

#include "eval/exact_memorization.h"
#include "eval/metrics.h"
#include "eval/results_schema.h"

namespace lethe::eval {

double extraction_strength(const std::vector<uint8_t>& match) {
  const size_t n = match.size();
  if (n == 0) return 0.0;
  // The longest all-matching suffix starts at k; the reference's loop ends at n - 1 without one.
  size_t k = n;
  while (k > 0 && match[k - 1]) --k;
  if (k == n) k = n - 1;
  return 1.0 - static_cast<double>(k) / static_cast<double>(n);
}

MetricDescriptor extraction_strength_metric() {
  MetricDescriptor m{"extraction_strength",
                     "1 - (shortest answer prefix after which the teacher-forced argmax "
                     "predictions reproduce the rest) / answer length",
                     {MetricInput::kAnswerArgmax},
                     true,
                     "Carlini et al. 2021; Wang et al. 2025; open-unlearning extraction_strength"};
  m.result_keys = {schema::kExtractionStrength};
  m.gap_keys = m.result_keys;
  m.per_example = [](QaEval& e) {
    e.values[schema::kExtractionStrength] =
        extraction_strength(answer_tokens_without_end(e.answer_argmax_match));
  };
  m.set_value = [](const QaSetView& set, json& out) {
    std::vector<double> values;
    for (const auto* e : set.items) values.push_back(e->values.at(schema::kExtractionStrength));
    out[schema::kExtractionStrength] = mean_of(values);
  };
  return m;
}

}  // namespace lethe::eval
