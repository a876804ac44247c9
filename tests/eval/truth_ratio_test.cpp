// TOFU truth ratio, answer probability, model utility and forget quality on hand-computed values.
#include "eval/truth_ratio.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/ks_test.h"

namespace lethe {

TEST(TruthRatio, HandComputedRatiosAndAggregations) {
  using eval::TruthRatioMode;
  // Paraphrased NLL 1.0, perturbed 2.0 and 3.0: r = exp(2.5 - 1.0).
  double r1 = eval::truth_ratio(1.0, {2.0, 3.0});
  EXPECT_NEAR(r1, std::exp(1.5), 1e-14);
  // The paraphrased answer is less likely than the perturbed one: r = exp(-1) < 1.
  double r2 = eval::truth_ratio(2.0, {1.0});
  EXPECT_NEAR(r2, std::exp(-1.0), 1e-15);
  EXPECT_NEAR(eval::truth_ratio_score(r1, TruthRatioMode::kForget), std::exp(-1.5), 1e-15);
  EXPECT_NEAR(eval::truth_ratio_score(r1, TruthRatioMode::kRetain), 1 - std::exp(-1.5), 1e-15);
  EXPECT_NEAR(eval::truth_ratio_score(r2, TruthRatioMode::kForget), std::exp(-1.0), 1e-15);
  EXPECT_EQ(eval::truth_ratio_score(r2, TruthRatioMode::kRetain), 0.0);  // max(0, 1 - e)
  EXPECT_NEAR(eval::truth_ratio_aggregate({r1, r2}, TruthRatioMode::kForget),
              (std::exp(-1.5) + std::exp(-1.0)) / 2, 1e-15);
  EXPECT_NEAR(eval::truth_ratio_aggregate({r1, r2}, TruthRatioMode::kRetain),
              (1 - std::exp(-1.5)) / 2, 1e-15);
  EXPECT_EQ(eval::parse_truth_ratio_mode("retain"), TruthRatioMode::kRetain);
  EXPECT_THROW(eval::parse_truth_ratio_mode("utility"), Error);
  EXPECT_THROW(eval::truth_ratio(1.0, {}), Error);
}

TEST(TruthRatio, ProbabilityUtilityAndForgetQuality) {
  EXPECT_NEAR(eval::answer_probability(std::log(4.0)), 0.25, 1e-15);
  EXPECT_NEAR(eval::normalized_answer_probability(1.0, {2.0}),
              std::exp(-1.0) / (std::exp(-1.0) + std::exp(-2.0)), 1e-15);
  EXPECT_NEAR(eval::model_utility({0.5, 0.25}), 2.0 / (2.0 + 4.0), 1e-15);
  EXPECT_NEAR(eval::model_utility({0.2, 0.2, 0.2}), 0.2, 1e-15);
  EXPECT_EQ(eval::model_utility({0.5, 0.0, 0.9}), 0.0);
  EXPECT_THROW(eval::model_utility({}), Error);
  EXPECT_THROW(eval::model_utility({0.5, -0.1}), Error);
  // Forget quality is the KS p-value of the two truth-ratio samples; disjoint samples of 3 and 4
  // give 2 / C(7, 3).
  EXPECT_NEAR(eval::forget_quality({0.1, 0.2, 0.3}, {0.5, 0.6, 0.7, 0.8}), 2.0 / 35.0, 1e-15);
}

}  // namespace lethe
