// Exact memorization and extraction strength (open-unlearning's definitions) on hand-computed
// cases, and through their registry descriptors on hand-built per-example records.
#include <gtest/gtest.h>

#include "eval/exact_memorization.h"
#include "eval/extraction_strength.h"
#include "eval/metric_registry.h"

namespace lethe {
namespace {

using M = std::vector<uint8_t>;

TEST(ExactMemorization, FractionOfArgmaxHits) {
  EXPECT_DOUBLE_EQ(*eval::exact_memorization(M{1, 1, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(*eval::exact_memorization(M{1, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(*eval::exact_memorization(M{0, 0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(*eval::exact_memorization(M{0, 1, 0}), 1.0 / 3.0);
  EXPECT_FALSE(eval::exact_memorization(M{}).has_value());  // open-unlearning: None
}

TEST(ExtractionStrength, ShortestPrefixAfterWhichTheRestMatches) {
  EXPECT_DOUBLE_EQ(eval::extraction_strength(M{1, 1, 1, 1}), 1.0);   // k = 0
  EXPECT_DOUBLE_EQ(eval::extraction_strength(M{0, 1, 1, 1}), 0.75);  // k = 1
  EXPECT_DOUBLE_EQ(eval::extraction_strength(M{1, 0, 1, 1}), 0.5);   // k = 2: an early hit
                                                                     // does not count
  EXPECT_DOUBLE_EQ(eval::extraction_strength(M{1, 1, 1, 0}), 0.25);  // no suffix: k = n - 1
  EXPECT_DOUBLE_EQ(eval::extraction_strength(M{0, 0, 0, 1}), 0.25);  // k = 3
  EXPECT_DOUBLE_EQ(eval::extraction_strength(M{0}), 1.0);            // n = 1: k = 0 either way
  EXPECT_DOUBLE_EQ(eval::extraction_strength(M{}), 0.0);
}

TEST(ExactMemorization, DropsTheEndOfTurnToken) {
  EXPECT_EQ(eval::answer_tokens_without_end(M{1, 0, 1}), (M{1, 0}));
  EXPECT_EQ(eval::answer_tokens_without_end(M{}), M{});
}

// The descriptors: per-example values from the records' argmax matches (end-of-turn last, left
// out), then the set mean; examples with no answer token are left out of EM's mean.
TEST(MemorizationMetrics, ThroughTheRegistryDescriptors) {
  std::vector<eval::QaEval> records(3);
  records[0].answer_argmax_match = {1, 1, 0, 1, 0};  // answer [1, 1, 0, 1]: EM 3/4, ES 1 - 3/4
  records[1].answer_argmax_match = {0, 0, 1};        // answer [0, 0]: EM 0, ES 1/2
  records[2].answer_argmax_match = {1};              // empty answer: EM none, ES 0
  const auto& em = eval::find_metric("exact_memorization");
  const auto& es = eval::find_metric("extraction_strength");
  eval::QaSetView set{"forget", {}, eval::TruthRatioMode::kForget, false};
  for (auto& r : records) {
    em.per_example(r);
    es.per_example(r);
    set.items.push_back(&r);
  }
  EXPECT_DOUBLE_EQ(records[0].values.at("exact_memorization"), 0.75);
  EXPECT_DOUBLE_EQ(records[0].values.at("extraction_strength"), 0.25);
  EXPECT_DOUBLE_EQ(records[1].values.at("extraction_strength"), 0.5);
  EXPECT_FALSE(records[2].values.count("exact_memorization"));
  EXPECT_DOUBLE_EQ(records[2].values.at("extraction_strength"), 0.0);
  nlohmann::json out = nlohmann::json::object();
  em.set_value(set, out);
  es.set_value(set, out);
  EXPECT_DOUBLE_EQ(out["exact_memorization"].get<double>(), (0.75 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(out["extraction_strength"].get<double>(), (0.25 + 0.5 + 0.0) / 3);
  EXPECT_EQ(em.result_keys, std::vector<std::string>({"exact_memorization"}));
  EXPECT_TRUE(em.reads(eval::MetricInput::kAnswerArgmax));
  EXPECT_FALSE(em.reads(eval::MetricInput::kGeneration));
}

}  // namespace
}  // namespace lethe
