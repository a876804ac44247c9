// The relearning attack: a few SFT steps on forget examples bring the forget probability back, the
// curve has a point per requested step, recovery fractions, and bad input.
#include <gtest/gtest.h>

#include "core/error.h"
#include "sweep_fixture.h"
#include "train/relearn.h"

namespace lethe {
namespace {

std::vector<train::RelearnProbe> probes_of(const std::vector<data::Example>& examples,
                                           size_t seen) {
  std::vector<train::RelearnProbe> probes;
  for (size_t i = 0; i < examples.size(); ++i) {
    train::RelearnProbe p;
    p.id = "q" + std::to_string(i);
    for (size_t t = 0; t < examples[i].ids.size(); ++t)
      (examples[i].loss_mask[t] ? p.answer : p.prompt).push_back(examples[i].ids[t]);
    p.seen = i < seen;
    probes.push_back(p);
  }
  return probes;
}

TEST(SweepRelearn, ForgetExamplesBringTheForgetSetBack) {
  auto m = test::finetuned_tiny();
  const auto examples = test::token_examples(9, 6);
  const auto probes = probes_of(examples, 4);
  std::vector<data::Example> train_examples(examples.begin(), examples.begin() + 4);
  train::RelearnOptions options;
  options.steps = {20, 5};
  options.learning_rate = 1e-2;
  options.batch_size = 4;
  options.max_new_tokens = 6;
  const auto curve = train::relearn_curve(m, train_examples, probes, options);
  ASSERT_EQ(curve.size(), 3u);
  EXPECT_EQ(curve[0].step, 0);
  EXPECT_EQ(curve[1].step, 5);
  EXPECT_EQ(curve[2].step, 20);
  EXPECT_EQ(curve[0].n_unseen, 2);
  EXPECT_GT(curve[2].forget_prob, curve[0].forget_prob * 2) << curve[0].forget_prob;
  EXPECT_GT(curve[2].loss, 0.0);
  EXPECT_LT(curve[2].loss, 3.0);
  // After 20 steps on 4 examples the model reproduces them: greedy ROUGE-L on ids goes up.
  EXPECT_GT(curve[2].forget_rouge_l, curve[0].forget_rouge_l);
  for (const auto& p : curve) {
    EXPECT_GE(p.forget_prob, 0.0);
    EXPECT_LE(p.forget_prob, 1.0);
    EXPECT_GE(p.forget_rouge_l, 0.0);
    EXPECT_LE(p.forget_rouge_l, 1.0);
  }
}

TEST(SweepRelearn, RecoveryIsTheFractionOfTheGapClosed) {
  std::vector<train::RelearnPoint> curve(2);
  curve[0].forget_prob = 0.1, curve[0].forget_rouge_l = 0.2;
  curve[1].step = 10, curve[1].forget_prob = 0.4, curve[1].forget_rouge_l = 0.2;
  train::RelearnPoint reference;
  reference.forget_prob = 0.7, reference.forget_rouge_l = 0.2;
  const auto j = train::relearn_results_json(curve, {{"set", "forget"}}, &reference);
  EXPECT_EQ(j["set"], "forget");
  ASSERT_EQ(j["steps"].size(), 2u);
  EXPECT_NEAR(j["steps"][1]["recovery_prob"].get<double>(), 0.5, 1e-12);
  EXPECT_TRUE(j["steps"][1]["recovery_rouge_l"].is_null());  // no gap to close
  EXPECT_NEAR(j["steps"][0]["recovery_prob"].get<double>(), 0.0, 1e-12);
}

TEST(SweepRelearn, BadInputFails) {
  auto m = test::finetuned_tiny();
  const auto examples = test::token_examples(9, 2);
  const auto probes = probes_of(examples, 0);
  train::RelearnOptions options;
  EXPECT_THROW(train::relearn_curve(m, {}, probes, options), Error);
  EXPECT_THROW(train::relearn_curve(m, examples, {}, options), Error);
  options.steps = {0};
  EXPECT_THROW(train::relearn_curve(m, examples, probes, options), Error);
  train::RelearnConfig config;
  config.model = "m", config.adapter = "a", config.data = "d", config.out = "o",
  config.set = "world";
  EXPECT_THROW(train::run_relearn(config), UsageError);
}

}  // namespace
}  // namespace lethe
