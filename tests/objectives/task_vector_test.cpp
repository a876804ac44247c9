// Task-vector negation on LoRA adapters: the concatenated-rank adapter represents exactly
// delta_ft - alpha * delta_forget on every module, stays a uniform-rank PEFT adapter, and rejects
// adapters that do not fit together.
#include "objectives/task_vector.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "expect_close.h"

namespace lethe::objectives {
namespace {

io::Adapter random_adapter(int64_t r, double lora_alpha, const std::vector<std::string>& prefixes,
                           int64_t seed, bool rslora = false) {
  torch::manual_seed(seed);
  io::Adapter a;
  a.config.r = r;
  a.config.lora_alpha = lora_alpha;
  a.config.use_rslora = rslora;
  a.config.base_model_name_or_path = "qwen2-tiny";
  a.config.target_modules = {"q_proj", "down_proj"};
  for (const auto& p : prefixes) {
    const bool down = p.find("down_proj") != std::string::npos;
    const int64_t in = down ? 12 : 8, out = down ? 8 : 6;
    a.modules[p] = {torch::randn({r, in}), torch::randn({out, r})};
  }
  return a;
}

// scaling B A written out: r columns of B times r rows of A.
torch::Tensor delta(const io::Adapter& a, const std::string& p) {
  const auto& w = a.modules.at(p);
  const double r = static_cast<double>(a.config.r);
  const double s =
      a.config.use_rslora ? a.config.lora_alpha / std::sqrt(r) : a.config.lora_alpha / r;
  auto d = torch::zeros({w.lora_B.size(0), w.lora_A.size(1)});
  for (int64_t k = 0; k < a.config.r; ++k) d += torch::outer(w.lora_B.select(1, k), w.lora_A[k]);
  return s * d;
}

const std::string q = "model.layers.0.self_attn.q_proj";
const std::string down = "model.layers.0.mlp.down_proj";
const std::string q1 = "model.layers.1.self_attn.q_proj";

TEST(TaskVector, ConcatenatedRankAdapterEqualsTheNegatedDifference) {
  auto ft = random_adapter(4, 8.0, {q, down}, 1);   // scaling 2
  auto fg = random_adapter(2, 16.0, {q, down}, 2);  // scaling 8
  const double alpha = 0.75;
  auto out = negate_task_vector(ft, fg, alpha);
  EXPECT_EQ(out.config.r, 6);
  EXPECT_DOUBLE_EQ(out.config.lora_alpha / out.config.r, 2.0);  // the fine-tuned scaling is kept
  EXPECT_EQ(out.config.base_model_name_or_path, "qwen2-tiny");
  for (const auto& p : {q, down}) {
    EXPECT_EQ(out.modules.at(p).lora_A.size(0), 6);
    EXPECT_EQ(out.modules.at(p).lora_B.size(1), 6);
    EXPECT_CLOSE(p, delta(out, p), delta(ft, p) - alpha * delta(fg, p), 1e-5, 1e-5);
    // The fine-tuned blocks are unchanged, so alpha = 0 gives back the fine-tuned delta.
    EXPECT_TRUE(torch::equal(out.modules.at(p).lora_B.narrow(1, 0, 4), ft.modules.at(p).lora_B));
  }
  auto zero = negate_task_vector(ft, fg, 0.0);
  EXPECT_CLOSE("alpha 0", delta(zero, q), delta(ft, q), 1e-6);
}

TEST(TaskVector, ModulesInOnlyOneAdapterGetZeroBlocks) {
  auto ft = random_adapter(4, 4.0, {q, down}, 3);
  auto fg = random_adapter(4, 4.0, {q, q1}, 4);
  auto out = negate_task_vector(ft, fg, 1.0);
  ASSERT_EQ(out.modules.size(), 3u);
  EXPECT_CLOSE("down (ft only)", delta(out, down), delta(ft, down), 1e-5, 1e-5);
  EXPECT_CLOSE("q1 (forget only)", delta(out, q1), -delta(fg, q1), 1e-5, 1e-5);
  EXPECT_CLOSE("q (both)", delta(out, q), delta(ft, q) - delta(fg, q), 1e-5, 1e-5);
  EXPECT_CLOSE("adapter_delta", adapter_delta(out, q), delta(out, q), 1e-5, 1e-5);
}

TEST(TaskVector, RsLoraScalingIsHonoured) {
  auto ft = random_adapter(4, 8.0, {q}, 5, /*rslora=*/true);  // scaling 8 / 2 = 4
  auto fg = random_adapter(9, 6.0, {q}, 6);                   // scaling 6 / 9
  auto out = negate_task_vector(ft, fg, 2.0);
  EXPECT_TRUE(out.config.use_rslora);
  EXPECT_NEAR(out.config.lora_alpha / std::sqrt(13.0), 4.0, 1e-12);
  EXPECT_CLOSE("rslora", delta(out, q), delta(ft, q) - 2.0 * delta(fg, q), 1e-4, 1e-5);
}

TEST(TaskVector, MismatchedShapesAreRejected) {
  auto ft = random_adapter(4, 8.0, {q}, 7);
  auto fg = random_adapter(2, 4.0, {q}, 8);
  fg.modules[q].lora_A = torch::randn({2, 10});
  try {
    negate_task_vector(ft, fg, 1.0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("module " + q + " is [6, 8] in the fine-tuned adapter"),
              std::string::npos)
        << e.what();
  }
  fg = random_adapter(2, 4.0, {q}, 8);
  fg.modules[q].lora_B = torch::randn({6, 3});
  EXPECT_THROW(negate_task_vector(ft, fg, 1.0), Error);  // rank 3 in an r = 2 adapter
}

}  // namespace
}  // namespace lethe::objectives
