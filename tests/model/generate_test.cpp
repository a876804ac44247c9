// Generation: greedy parity with HF, KV cache == full recomputation, left-padded batch == rows
// alone, eos stopping, seeded sampling and the sampling filters.
#include "model/generate.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "model/kv_cache.h"
#include "model_test_util.h"

namespace lethe {
namespace {

using test::tiny_reference;

std::vector<std::vector<int64_t>> reference_prompts() {
  std::vector<std::vector<int64_t>> out;
  for (const auto& s : tiny_reference()["sequences"]) out.push_back(test::json_ids(s["input_ids"]));
  return out;
}

// Greedy parity and the KV cache on every device of test_devices() (CPU, and CUDA when present).
class GenerateOnDevice : public test::OnDevice {};
LETHE_DEVICE_SUITE(GenerateOnDevice);

TEST_P(GenerateOnDevice, GreedyMatchesReferenceBatchedAndAlone) {
  auto model = test::load_tiny(torch::kFloat32, device());
  model::GenerateOptions options;
  options.max_new_tokens = 12;
  const auto prompts = reference_prompts();
  auto batched = model::generate(model, prompts, options);  // left-padded batch of 3
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto want = test::json_ids(tiny_reference()["sequences"][i]["greedy"]["new_tokens"]);
    EXPECT_EQ(batched.tokens[i], want) << "row " << i << " in a batch";
    EXPECT_EQ(batched.stop_reasons[i], "length");
    auto alone = model::generate(model, {prompts[i]}, options);
    EXPECT_EQ(alone.tokens[0], want) << "row " << i << " alone";
  }
}

TEST_P(GenerateOnDevice, KvCacheEqualsFullRecomputation) {
  auto model = test::load_tiny(torch::kFloat32, device());
  model::GenerateOptions options;
  options.max_new_tokens = 20;
  const auto prompts = reference_prompts();
  auto cached = model::generate(model, prompts, options);
  options.use_cache = false;
  auto uncached = model::generate(model, prompts, options);
  EXPECT_EQ(cached.tokens, uncached.tokens);
  // Logits too: the decode step over the cache against one forward over the whole sequence.
  torch::NoGradGuard no_grad;
  auto ids = test::ids_tensor(prompts[1]).to(device());
  model::KVCache cache(model->config().num_hidden_layers);
  model::ForwardOptions fo;
  fo.cache = &cache;
  model->forward(ids.narrow(1, 0, 10), fo);
  auto step = model->forward(ids.narrow(1, 10, 6), fo).logits;
  EXPECT_EQ(cache.length(), 16);
  auto full = model->forward(ids).logits.narrow(1, 10, 6);
  EXPECT_CLOSE("cached logits", step.cpu(), full.cpu(), tolerance(2e-5, 2e-4));
}

TEST(Generate, StopsPerRowOnEos) {
  auto model = test::load_tiny();
  const auto prompts = reference_prompts();
  model::GenerateOptions options;
  options.max_new_tokens = 12;
  auto free_run = model::generate(model, prompts, options);
  // Make the 3rd token of row 2 an eos: row 2 stops there, the others run on unchanged unless
  // they emit that token too.
  const int64_t stop_token = free_run.tokens[2][2];
  options.eos_token_ids = {stop_token};
  auto stopped = model::generate(model, prompts, options);
  for (size_t b = 0; b < prompts.size(); ++b) {
    const auto& full = free_run.tokens[b];
    auto it = std::find(full.begin(), full.end(), stop_token);
    std::vector<int64_t> want(full.begin(), it == full.end() ? full.end() : it + 1);
    EXPECT_EQ(stopped.tokens[b], want) << "row " << b;
    EXPECT_EQ(stopped.stop_reasons[b], it == full.end() ? "length" : "eos");
  }
  EXPECT_LE(stopped.tokens[2].size(), 3u);
}

TEST(Generate, SeededSamplingIsReproducibleAndTopK1IsGreedy) {
  auto model = test::load_tiny();
  const auto prompts = reference_prompts();
  model::GenerateOptions options;
  options.max_new_tokens = 10;
  options.do_sample = true;
  options.temperature = 1.5;
  options.seed = 11;
  auto a = model::generate(model, prompts, options);
  auto b = model::generate(model, prompts, options);
  EXPECT_EQ(a.tokens, b.tokens);
  options.seed = 12;
  auto c = model::generate(model, prompts, options);
  EXPECT_NE(a.tokens, c.tokens);
  options.top_k = 1;
  auto top1 = model::generate(model, prompts, options);
  model::GenerateOptions greedy;
  greedy.max_new_tokens = 10;
  EXPECT_EQ(top1.tokens, model::generate(model, prompts, greedy).tokens);
}

TEST(Generate, SamplingFiltersFollowHfWarpers) {
  auto logits = torch::log(torch::tensor({0.5, 0.25, 0.15, 0.1}, torch::kFloat32)).unsqueeze(0);
  auto top2 = model::apply_sampling_filters(logits, 1.0, 2, 1.0);
  EXPECT_TRUE(torch::isinf(top2).equal(torch::tensor({false, false, true, true}).unsqueeze(0)));
  // top_p 0.7: 0.5 + 0.25 reach it; the tail 0.15 + 0.1 = 0.25 <= 0.3 is removed.
  auto nucleus = model::apply_sampling_filters(logits, 1.0, 0, 0.7);
  EXPECT_TRUE(torch::isinf(nucleus).equal(torch::tensor({false, false, true, true}).unsqueeze(0)));
  auto tiny_p = model::apply_sampling_filters(logits, 1.0, 0, 0.01);
  EXPECT_EQ(torch::isfinite(tiny_p).sum().item<int64_t>(), 1);
  auto hot = model::apply_sampling_filters(logits, 2.0, 0, 1.0);
  EXPECT_CLOSE("temperature", hot, logits / 2.0, 1e-7);
}

TEST(Generate, RejectsBadInput) {
  auto model = test::load_tiny();
  model::GenerateOptions options;
  EXPECT_THROW(model::generate(model, {{}}, options), Error);
  std::vector<int64_t> too_long(300, 1);
  try {
    model::generate(model, {too_long}, options);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("300 tokens"), std::string::npos) << e.what();
  }
  options.do_sample = true;
  options.temperature = 0.0;
  EXPECT_THROW(model::generate(model, {{1, 2}}, options), Error);
  // Generation stops at max_position_embeddings instead of failing.
  model::GenerateOptions near_end;
  near_end.max_new_tokens = 10;
  auto out = model::generate(model, {std::vector<int64_t>(250, 3)}, near_end);
  EXPECT_EQ(out.tokens[0].size(), 6u);
}

}  // namespace
}  // namespace lethe
