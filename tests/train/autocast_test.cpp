// Mixed precision (train::AutocastGuard): matmuls run in bf16 inside the guard and float32 outside,
// the state is restored, and a training step under autocast tracks the float32 step closely while
// parameters and gradients stay float32.
#include "train/autocast.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "data/batching.h"
#include "expect_close.h"
#include "model/causal_lm.h"
#include "train/trainer.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

TEST(Autocast, CastsMatmulsInsideAndRestoresAfter) {
  const auto a = torch::randn({4, 8}), b = torch::randn({8, 3});
  {
    const train::AutocastGuard guard(torch::kCPU, torch::kBFloat16);
    EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    {
      const train::AutocastGuard off(torch::kCPU, std::nullopt);  // nullopt: no change
      EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kBFloat16);
    }
  }
  EXPECT_EQ(torch::matmul(a, b).scalar_type(), torch::kFloat32);
  EXPECT_FALSE(train::parse_autocast("none").has_value());
  EXPECT_EQ(*train::parse_autocast("bfloat16"), torch::kBFloat16);
  EXPECT_THROW(train::parse_autocast("int8"), Error);
}

TEST(Autocast, FullParameterStepTracksFloat32) {
  core::Progress::set_quiet(true);
  const fs::path dir = test::make_temp_dir("autocast");
  std::vector<data::Example> examples;
  data::SplitMix64 rng(5);
  for (int i = 0; i < 8; ++i) {
    std::vector<int64_t> prompt(6), answer(5);
    for (auto& t : prompt) t = static_cast<int64_t>(rng.below(512));
    for (auto& t : answer) t = static_cast<int64_t>(rng.below(512));
    examples.push_back(data::make_example(prompt, answer));
  }
  const train::TrainData data{examples, {}, {}, 0};
  auto run = [&](const std::string& autocast) {
    auto m = model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat32, torch::kCPU);
    train::TrainTarget target;
    for (auto& p : m->named_parameters()) {
      p.value().set_requires_grad(true);
      target.params.emplace_back(p.key(), p.value());
    }
    target.save_model = [](const fs::path&) {};
    train::TrainOptions options;
    options.schedule.lr = 1e-3;
    options.max_steps = 2;
    options.batch_size = 8;
    options.autocast = autocast;
    train::train(m, target, data, options, dir / autocast, false);
    for (const auto& p : m->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
    return std::make_pair(m, core::read_jsonl(dir / autocast / "metrics.jsonl"));
  };
  auto [m32, log32] = run("none");
  auto [m16, log16] = run("bfloat16");
  ASSERT_EQ(log32.size(), 2u);
  ASSERT_EQ(log16.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const double l32 = log32[i]["loss"], l16 = log16[i]["loss"];
    EXPECT_NEAR(l16, l32, 0.02 * l32) << "step " << i;
    const double g32 = log32[i]["grad_norm"], g16 = log16[i]["grad_norm"];
    EXPECT_NEAR(g16, g32, 0.05 * g32) << "step " << i;
  }
  // The updates themselves agree: same direction, similar size.
  const auto reference =
      model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat32, torch::kCPU);
  const auto p0 = reference->named_parameters(), p32 = m32->named_parameters(),
             p16 = m16->named_parameters();
  std::vector<torch::Tensor> d32, d16;
  for (const auto& item : p0) {
    d32.push_back((p32[item.key()] - item.value()).flatten());
    d16.push_back((p16[item.key()] - item.value()).flatten());
  }
  const auto u32 = torch::cat(d32), u16 = torch::cat(d16);
  const double cosine = (torch::dot(u32, u16) / (u32.norm() * u16.norm())).item<double>();
  EXPECT_GT(cosine, 0.98);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lethe
