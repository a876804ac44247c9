// Batching: answer-only loss masks, right padding, and seeded length-grouped epoch plans.
#include "data/batching.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "expect_close.h"

namespace lethe {
namespace {

TEST(Batching, ExampleScoresExactlyTheAnswer) {
  auto e = data::make_example({1, 2, 3}, {7, 8, 99});
  EXPECT_EQ(e.ids, (std::vector<int64_t>{1, 2, 3, 7, 8, 99}));
  EXPECT_EQ(e.loss_mask, (std::vector<uint8_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(e.loss_tokens(), 3);
  EXPECT_THROW(data::make_example({1}, {}), Error);
}

// A question or answer that is empty after trimming is a FILE:LINE error (it was accepted: an empty
// question trained the model to answer a bare chat prompt).
TEST(Batching, EmptyQuestionOrAnswerIsAFileLineError) {
  const std::filesystem::path dir = test::make_temp_dir("qa_records");
  const std::string good = "{\"question\": \"Who?\", \"answer\": \"Ada\"}\n";
  const std::pair<std::string, std::string> cases[] = {
      {"{\"question\": \"\", \"answer\": \"Ada\"}", "question"},
      {"{\"question\": \" \\t\\n \", \"answer\": \"Ada\"}", "question"},
      {"{\"question\": \"Who?\", \"answer\": \"\"}", "answer"},
      {"{\"question\": \"Who?\", \"answer\": \"  \"}", "answer"}};
  for (const auto& [line, field] : cases) {
    const auto path = dir / "qa.jsonl";
    core::write_file_atomic(path, good + line + "\n");
    try {
      data::read_qa_records(path);
      ADD_FAILURE() << "accepted " << line;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), path.string() + ":2: field '" + field + "' is empty")
          << line;
    }
  }
  core::write_file_atomic(dir / "qa.jsonl", good);
  EXPECT_EQ(data::read_qa_records(dir / "qa.jsonl").size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(Batching, CollatePadsRightWithMasks) {
  std::vector<data::Example> examples = {data::make_example({1, 2}, {3}),
                                         data::make_example({4}, {5, 6, 7, 8})};
  auto batch = data::collate(examples, {1, 0}, /*pad_id=*/0);
  ASSERT_EQ(batch.ids.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(
      torch::equal(batch.ids, torch::tensor({4, 5, 6, 7, 8, 1, 2, 3, 0, 0}).reshape({2, 5})));
  EXPECT_TRUE(torch::equal(batch.attention_mask,
                           torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}).reshape({2, 5})));
  EXPECT_TRUE(torch::equal(
      batch.loss_mask,
      torch::tensor({0.f, 1.f, 1.f, 1.f, 1.f, 0.f, 0.f, 1.f, 0.f, 0.f}).reshape({2, 5})));
  EXPECT_EQ(batch.n_tokens, 8);
  EXPECT_EQ(batch.n_loss_tokens, 5);
  EXPECT_EQ(batch.indices, (std::vector<int64_t>{1, 0}));
  EXPECT_THROW(data::collate(examples, {2}, 0), Error);
  EXPECT_THROW(data::collate(examples, {}, 0), Error);
}

TEST(Batching, SplitMix64KnownValuesAndUnbiasedRange) {
  data::SplitMix64 rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFULL);  // the published first output for seed 0
  EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ULL);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 3000; ++i) counts[rng.below(3)]++;
  for (int c : counts) EXPECT_GT(c, 900);
}

std::vector<int64_t> lengths_for_test(int64_t n) {
  std::vector<int64_t> lengths(n);
  data::SplitMix64 rng(42);
  for (auto& l : lengths) l = 5 + static_cast<int64_t>(rng.below(60));
  return lengths;
}

double padding_fraction(const std::vector<std::vector<int64_t>>& batches,
                        const std::vector<int64_t>& lengths) {
  double padded = 0, real = 0;
  for (const auto& batch : batches) {
    int64_t longest = 0;
    for (auto i : batch) longest = std::max(longest, lengths[i]);
    for (auto i : batch) {
      padded += longest - lengths[i];
      real += lengths[i];
    }
  }
  return padded / (padded + real);
}

TEST(Batching, EpochPlanCoversEveryExampleOnceAndIsSeeded) {
  const auto lengths = lengths_for_test(203);
  data::BatchPlanOptions options;
  options.batch_size = 8;
  auto plan = data::plan_epoch(lengths, options, 1234, 0);
  std::vector<int64_t> seen;
  for (const auto& batch : plan) {
    EXPECT_LE(batch.size(), 8u);
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> all(203);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(seen, all);
  EXPECT_EQ(plan.size(), 26u);  // 203 / 8 rounded up, per bucket of 128 and its remainder 75
  EXPECT_EQ(plan, data::plan_epoch(lengths, options, 1234, 0));
  EXPECT_NE(plan, data::plan_epoch(lengths, options, 1234, 1));
  EXPECT_NE(plan, data::plan_epoch(lengths, options, 99, 0));
  options.drop_last = true;
  options.group_by_length = false;
  auto dropped = data::plan_epoch(lengths, options, 1234, 0);
  EXPECT_EQ(dropped.size(), 25u);
  for (const auto& batch : dropped) EXPECT_EQ(batch.size(), 8u);
}

TEST(Batching, GroupingByLengthCutsPadding) {
  const auto lengths = lengths_for_test(512);
  data::BatchPlanOptions grouped;
  grouped.batch_size = 16;
  data::BatchPlanOptions random = grouped;
  random.group_by_length = false;
  const double with = padding_fraction(data::plan_epoch(lengths, grouped, 7, 0), lengths);
  const double without = padding_fraction(data::plan_epoch(lengths, random, 7, 0), lengths);
  EXPECT_LT(with, without / 4) << "grouped " << with << " random " << without;
}

TEST(Batching, UnshuffledPlanKeepsOrder) {
  data::BatchPlanOptions options;
  options.batch_size = 2;
  options.shuffle = false;
  options.group_by_length = false;
  auto plan = data::plan_epoch({3, 1, 4, 1, 5}, options, 0, 0);
  EXPECT_EQ(plan, (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}}));
  options.batch_size = 0;
  EXPECT_THROW(data::plan_epoch({1}, options, 0, 0), Error);
}

}  // namespace
}  // namespace lethe
