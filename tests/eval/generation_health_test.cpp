// Repetition rate, distinct-n and the metric registry.
#include "eval/generation_health.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "eval/metric_registry.h"

namespace lethe {

TEST(GenerationHealth, RepetitionAndDistinctByHand) {
  auto collapsed = eval::health_tokens("The the THE  the");
  ASSERT_EQ(collapsed.size(), 4u);
  // 3 bigrams, all "the the": 1 distinct -> repetition 2/3.
  EXPECT_NEAR(eval::repetition_rate(collapsed, 2), 2.0 / 3.0, 1e-15);
  EXPECT_EQ(eval::repetition_rate(eval::health_tokens("a b c d"), 2), 0.0);
  EXPECT_EQ(eval::repetition_rate(eval::health_tokens("single"), 2), 0.0);
  std::vector<eval::TokenSequence> set = {eval::health_tokens("a b c"), eval::health_tokens("a a")};
  EXPECT_NEAR(eval::repetition_rate(set, 1), (0.0 + 0.5) / 2, 1e-15);
  EXPECT_NEAR(eval::distinct_n(set, 1), 3.0 / 5.0, 1e-15);  // {a, b, c} of 5 words
  EXPECT_NEAR(eval::distinct_n(set, 2), 1.0, 1e-15);        // "a b", "b c", "a a"
  EXPECT_EQ(eval::distinct_n({}, 2), 0.0);
  EXPECT_THROW(eval::distinct_n(set, 0), Error);
}

TEST(MetricRegistry, NamesAreUniqueAndUnknownNamesListValidOnes) {
  std::set<std::string> names;
  for (const auto& m : eval::metric_registry()) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name;
    EXPECT_FALSE(m.description.empty()) << m.name;
    EXPECT_FALSE(m.inputs.empty()) << m.name;
    EXPECT_FALSE(m.result_keys.empty()) << m.name;
    // Set-level metrics compute both per question and per set; model-level ones only the latter.
    EXPECT_TRUE(m.set_value || m.model_value) << m.name;
    EXPECT_EQ(static_cast<bool>(m.per_example), static_cast<bool>(m.set_value)) << m.name;
    for (const auto& key : m.gap_keys)
      EXPECT_NE(std::find(m.result_keys.begin(), m.result_keys.end(), key), m.result_keys.end())
          << m.name << " " << key;
    for (const auto& need : m.needs) EXPECT_EQ(eval::find_metric(need).name, need) << m.name;
  }
  EXPECT_TRUE(names.count("rouge_l") && names.count("truth_ratio") &&
              names.count("forget_quality"));
  EXPECT_EQ(eval::find_metric("mia_min_k").name, "mia_min_k");
  try {
    eval::find_metric("bleu");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("unknown metric 'bleu'"), std::string::npos) << what;
    EXPECT_NE(what.find("rouge_l, rouge_1"), std::string::npos) << what;
  }
  EXPECT_DOUBLE_EQ(eval::mean_of({1.0, 2.0, 6.0}), 3.0);
  EXPECT_DOUBLE_EQ(eval::mean_of({}), 0.0);
}

}  // namespace lethe
