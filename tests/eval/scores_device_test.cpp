// The evaluator's numeric core on each device of test_devices(): batched teacher-forced scoring
// (model::score_sequences, behind answer probability, truth ratio and MIA) against the Hugging Face
// reference token log-probs of the fixture model, alone and in a padded batch.
#include <gtest/gtest.h>

#include "device_test.h"
#include "expect_close.h"
#include "model/sequence_scores.h"
#include "model/model_test_util.h"

namespace lethe {
namespace {

class ScoresOnDevice : public test::OnDevice {};
LETHE_DEVICE_SUITE(ScoresOnDevice);

TEST_P(ScoresOnDevice, BatchedScoresMatchTheReferenceTokenLogprobs) {
  auto model = test::load_tiny(torch::kFloat32, device());
  const auto& sequences = test::tiny_reference()["sequences"];
  std::vector<model::ScoreRequest> requests;
  for (const auto& seq : sequences) requests.push_back({test::json_ids(seq["input_ids"]), 1});
  // Batch 1 (no padding) and one padded batch of every sequence must give the same scores.
  for (int64_t batch_size : {int64_t(1), int64_t(8)}) {
    auto scores = model::score_sequences(model, requests, batch_size);
    ASSERT_EQ(scores.size(), sequences.size());
    for (size_t i = 0; i < scores.size(); ++i) {
      auto want = sequences[i]["token_logprobs"].get<std::vector<double>>();
      EXPECT_CLOSE("sequence " + std::to_string(i) + " batch " + std::to_string(batch_size),
                   scores[i], want, tolerance(1e-4, 1e-3));
    }
  }
  // Scoring from a later position returns the tail of the same log-probs.
  auto tail = model::score_sequences(model, {{requests[1].ids, 5}});
  auto want = sequences[1]["token_logprobs"].get<std::vector<double>>();
  EXPECT_CLOSE("tail", tail.at(0), std::vector<double>(want.begin() + 4, want.end()),
               tolerance(1e-4, 1e-3));
}

}  // namespace
}  // namespace lethe
