// AdamW against libtorch's torch::optim::AdamW, its state dict, gradient clipping against
// torch::nn::utils::clip_grad_norm_, and the learning-rate schedules against Hugging Face's
// formulas.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "expect_close.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"

namespace lethe {
namespace {

using train::LrSchedule;
using train::LrScheduleOptions;
using train::ScheduleKind;

TEST(LrSchedule, MatchesHuggingFaceFormulas) {
  const double lr = 2e-4;
  LrScheduleOptions options;
  options.lr = lr;
  options.warmup_steps = 2;
  options.kind = ScheduleKind::linear;
  LrSchedule linear(options, 10);
  // transformers get_linear_schedule_with_warmup: step/warmup, then (total-step)/(total-warmup).
  EXPECT_DOUBLE_EQ(linear.lr_at(0), 0.0);
  EXPECT_DOUBLE_EQ(linear.lr_at(1), lr * 0.5);
  EXPECT_DOUBLE_EQ(linear.lr_at(2), lr);
  EXPECT_DOUBLE_EQ(linear.lr_at(6), lr * 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(linear.lr_at(10), 0.0);
  options.kind = ScheduleKind::cosine;
  LrSchedule cosine(options, 10);
  for (int step = 2; step <= 10; ++step)
    EXPECT_NEAR(cosine.lr_at(step), lr * 0.5 * (1 + std::cos(M_PI * (step - 2) / 8.0)), 1e-15);
  options.kind = ScheduleKind::constant;
  EXPECT_DOUBLE_EQ(LrSchedule(options, 10).lr_at(1), lr * 0.5);
  EXPECT_DOUBLE_EQ(LrSchedule(options, 10).lr_at(9), lr);
}

TEST(LrSchedule, WarmupRatioRoundsUpAndMinLrFloors) {
  LrScheduleOptions options;
  options.kind = ScheduleKind::cosine;
  options.warmup_ratio = 0.1;
  options.min_lr_ratio = 0.1;
  LrSchedule schedule(options, 25);
  EXPECT_EQ(schedule.warmup_steps(), 3);  // ceil(2.5)
  EXPECT_NEAR(schedule.lr_at(25), options.lr * 0.1, 1e-18);
  EXPECT_GT(schedule.lr_at(10), options.lr * 0.1);
}

TEST(LrSchedule, RejectsBadOptions) {
  LrScheduleOptions options;
  options.lr = 0.0;
  EXPECT_THROW(LrSchedule(options, 10), Error);
  options.lr = -1e-4;
  try {
    LrSchedule(options, 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("learning rate must be positive"), std::string::npos);
  }
  options.lr = 1e-4;
  EXPECT_THROW(LrSchedule(options, 0), Error);
  options.warmup_ratio = 1.5;
  EXPECT_THROW(LrSchedule(options, 10), Error);
  EXPECT_THROW(train::parse_schedule("exponential"), UsageError);
  EXPECT_EQ(train::parse_schedule("cosine"), ScheduleKind::cosine);
}

std::vector<torch::Tensor> random_grads(int64_t step, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  auto gen = at::detail::createCPUGenerator(100 + step);
  for (const auto& p : params) grads.push_back(torch::randn(p.sizes(), gen));
  return grads;
}

TEST(AdamW, MatchesTorchAdamW) {
  torch::manual_seed(0);
  std::vector<torch::Tensor> ours = {torch::randn({4, 3}), torch::randn({2, 5})};
  std::vector<torch::Tensor> theirs;
  for (auto& p : ours) {
    p.set_requires_grad(true);
    theirs.push_back(p.detach().clone().set_requires_grad(true));
  }
  train::AdamWOptions options;
  options.weight_decay = 0.1;
  options.beta2 = 0.99;
  train::AdamW adamw({{"a", ours[0]}, {"b", ours[1]}}, options);
  torch::optim::AdamW reference(
      theirs, torch::optim::AdamWOptions(1e-2).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.1));
  for (int step = 0; step < 6; ++step) {
    const double lr = 1e-2 * (step + 1) / 6.0;
    static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[0].options()).lr(lr);
    auto grads = random_grads(step, ours);
    for (size_t i = 0; i < ours.size(); ++i) {
      ours[i].mutable_grad() = grads[i].clone();
      theirs[i].mutable_grad() = grads[i].clone();
    }
    adamw.step(lr);
    reference.step();
  }
  for (size_t i = 0; i < ours.size(); ++i)
    EXPECT_CLOSE("param " + std::to_string(i), ours[i], theirs[i], 1e-6, 1e-6);
  EXPECT_EQ(adamw.step_count(), 6);
}

TEST(AdamW, NoDecayOnVectorsAndFp32StateForBf16) {
  auto vec = torch::ones({3}).set_requires_grad(true);
  auto mat = torch::ones({2, 2}, torch::kBFloat16).set_requires_grad(true);
  train::AdamW adamw({{"norm.weight", vec}, {"w", mat}}, {});
  vec.mutable_grad() = torch::zeros({3});
  mat.mutable_grad() = torch::ones({2, 2}, torch::kBFloat16);
  adamw.step(0.1);
  EXPECT_TRUE(torch::equal(vec, torch::ones({3})));  // zero gradient, no decay on a vector
  EXPECT_LT(mat.to(torch::kFloat32).max().item<double>(), 1.0);
  EXPECT_EQ(mat.scalar_type(), torch::kBFloat16);
  for (const auto& [key, value] : adamw.state_dict())
    if (key != "step") {
      EXPECT_EQ(value.scalar_type(), torch::kFloat32) << key;
    }
}

TEST(AdamW, StateDictRestoresBitIdenticalTrajectory) {
  auto make = [] {
    return torch::arange(12, torch::kFloat32).reshape({3, 4}).set_requires_grad(true);
  };
  auto p1 = make(), p2 = make();
  train::AdamW first({{"w", p1}}, {});
  for (int step = 0; step < 3; ++step) {
    p1.mutable_grad() = random_grads(step, {p1})[0];
    first.step(1e-2);
  }
  {
    torch::NoGradGuard no_grad;
    p2.copy_(p1);
  }
  train::AdamW second({{"w", p2}}, {});
  auto state = first.state_dict();
  std::map<std::string, torch::Tensor> copied;
  for (const auto& [k, v] : state) copied[k] = v.clone();
  second.load_state_dict(copied, "test");
  EXPECT_EQ(second.step_count(), 3);
  for (int step = 3; step < 6; ++step) {
    auto g = random_grads(step, {p1})[0];
    p1.mutable_grad() = g.clone();
    p2.mutable_grad() = g.clone();
    first.step(1e-2);
    second.step(1e-2);
  }
  EXPECT_TRUE(torch::equal(p1, p2));
  copied.erase("w.exp_avg");
  EXPECT_THROW(second.load_state_dict(copied, "ckpt"), Error);
  copied["w.exp_avg"] = torch::zeros({4, 3});
  EXPECT_THROW(second.load_state_dict(copied, "ckpt"), Error);
}

TEST(ClipGradNorm, MatchesTorch) {
  auto a = torch::zeros({3, 3}).set_requires_grad(true),
       b = torch::zeros({5}).set_requires_grad(true);
  auto a2 = a.detach().clone().set_requires_grad(true),
       b2 = b.detach().clone().set_requires_grad(true);
  auto grads = random_grads(1, {a, b});
  a.mutable_grad() = grads[0].clone();
  b.mutable_grad() = grads[1].clone();
  a2.mutable_grad() = grads[0].clone();
  b2.mutable_grad() = grads[1].clone();
  const double norm = train::clip_grad_norm({{"a", a}, {"b", b}}, 0.5);
  const double want = torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{a2, b2}, 0.5);
  EXPECT_NEAR(norm, want, 1e-5);
  EXPECT_GT(norm, 0.5);
  EXPECT_CLOSE("clipped a", a.grad(), a2.grad(), 1e-7, 1e-6);
  EXPECT_CLOSE("clipped b", b.grad(), b2.grad(), 1e-7, 1e-6);
  // No clipping below the threshold.
  auto before = a.grad().clone();
  train::clip_grad_norm({{"a", a}}, 100.0);
  EXPECT_TRUE(torch::equal(a.grad(), before));
}

}  // namespace
}  // namespace lethe
