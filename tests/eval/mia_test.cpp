// Membership-inference scores, ROC AUC and PrivLeak on small hand-computed inputs.
#include "eval/mia.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/roc_auc.h"
#include "expect_close.h"

namespace lethe {

namespace {
// Row 0: five scored tokens; row 1: three scored tokens then padding (whose values must be
// ignored).
torch::Tensor example_logp() {
  return torch::tensor({{-0.1, -2.0, -0.5, -3.0, -1.0}, {-1.0, -1.0, -4.0, -100.0, -100.0}},
                       torch::kFloat64);
}
torch::Tensor example_mask() {
  return torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}, torch::kInt64).to(torch::kBool);
}
std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}
}  // namespace

TEST(Mia, LossAndMinKByHand) {
  EXPECT_CLOSE("loss", to_vector(eval::mia_loss_score(example_logp(), example_mask())),
               (std::vector<double>{-6.6 / 5, -2.0}), 1e-15);
  // k = 0.4: row 0 keeps floor(2.0) = 2 lowest (-3, -2); row 1 keeps max(1, floor(1.2)) = 1 (-4).
  EXPECT_CLOSE("min_k", to_vector(eval::mia_min_k_score(example_logp(), example_mask(), 0.4)),
               (std::vector<double>{-2.5, -4.0}), 1e-15);
  // k = 1 is the mean log-prob.
  EXPECT_CLOSE("min_k k=1", to_vector(eval::mia_min_k_score(example_logp(), example_mask(), 1.0)),
               (std::vector<double>{-6.6 / 5, -2.0}), 1e-15);
  EXPECT_THROW(eval::mia_min_k_score(example_logp(), example_mask(), 0.0), Error);
  EXPECT_THROW(eval::mia_loss_score(example_logp(), torch::ones({2, 4}, torch::kBool)), Error);
}

TEST(Mia, MinKPlusPlusByHand) {
  auto mu = torch::full({2, 5}, -1.0, torch::kFloat64);
  auto sigma =
      torch::tensor({{0.5, 0.5, 0.5, 0.5, 0.5}, {2.0, 2.0, 0.0, 1.0, 1.0}}, torch::kFloat64);
  // Row 0: z = (logp + 1) / 0.5 = [1.8, -2, 1, -4, 0]; lowest 2 -> -3.
  // Row 1: position 2 has sigma 0 (skipped) -> z = [0, 0]; k = 0.4 of 2 -> 1 value -> 0.
  auto score = eval::mia_min_k_plus_plus_score(example_logp(), mu, sigma, example_mask(), 0.4);
  EXPECT_CLOSE("min_k_plus_plus", to_vector(score), (std::vector<double>{-3.0, 0.0}), 1e-14);
}

TEST(Mia, LogprobMomentsOfTwoTokenDistribution) {
  // p = [1/4, 3/4]: mu = E[log p]; sigma^2 = Var[log p] = p (1 - p) (log 3)^2.
  auto logits = torch::tensor({0.0, std::log(3.0)}, torch::kFloat64).view({1, 1, 2});
  auto moments = eval::logprob_moments(logits);
  double mu = 0.25 * std::log(0.25) + 0.75 * std::log(0.75);
  EXPECT_NEAR(moments.mu.item<double>(), mu, 1e-14);
  EXPECT_NEAR(moments.sigma.item<double>(), std::sqrt(0.1875) * std::log(3.0), 1e-14);
}

TEST(Mia, ZlibScoreUsesPythonZlibLengths) {
  // len(zlib.compress(s.encode())) in Python 3.11 / zlib 1.2.13.
  EXPECT_EQ(eval::zlib_compressed_size(""), 8u);
  EXPECT_EQ(eval::zlib_compressed_size("The cat sat on the mat."), 28u);
  EXPECT_EQ(eval::zlib_compressed_size(std::string(1000, 'a')), 17u);
  EXPECT_EQ(eval::zlib_compressed_size("Universit\u00e9 de Montr\u00e9al"), 32u);
  auto score = eval::mia_zlib_score(example_logp(), example_mask(),
                                    {"The cat sat on the mat.", std::string(1000, 'a')});
  EXPECT_CLOSE("zlib", to_vector(score), (std::vector<double>{-6.6 / 5 / 28, -2.0 / 17}), 1e-15);
  EXPECT_THROW(eval::mia_zlib_score(example_logp(), example_mask(), {"one text"}), Error);
}

TEST(RocAuc, TiesCountHalfAndPrivLeak) {
  // Members {3, 2, 1} vs non-members {0, 1, -1}: 8 pairs won, 1 tie -> 8.5 / 9.
  EXPECT_NEAR(eval::roc_auc({3, 2, 1}, {0, 1, -1}), 8.5 / 9, 1e-15);
  EXPECT_DOUBLE_EQ(eval::roc_auc({5, 6}, {1, 2, 3}), 1.0);
  EXPECT_DOUBLE_EQ(eval::roc_auc({1, 2}, {5, 6}), 0.0);
  EXPECT_DOUBLE_EQ(eval::roc_auc({1, 1}, {1, 1, 1}), 0.5);
  EXPECT_THROW(eval::roc_auc({}, {1.0}), Error);
  EXPECT_THROW(eval::roc_auc({NAN}, {1.0}), Error);
  EXPECT_NEAR(eval::privleak(0.6, 0.5), 0.2, 1e-15);
  EXPECT_NEAR(eval::privleak(0.25, 0.5), -0.5, 1e-15);
  EXPECT_THROW(eval::privleak(0.5, 0.0), Error);
}

}  // namespace lethe
