// LoraLinear: PEFT init, forward formula, merge/unmerge, the enabled switch, dropout, detach.
#include "model/lora_linear.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "expect_close.h"

namespace lethe {
namespace {

model::LoraLinear make_adapted(int64_t in, int64_t out, bool bias,
                               model::LoraOptions options = {}) {
  torch::manual_seed(3);
  model::LoraLinear layer(in, out, bias);
  layer->attach_lora(options);
  torch::NoGradGuard no_grad;
  layer->lora_B.normal_(0.0, 0.5);  // PEFT starts B at zero; a trained adapter does not
  return layer;
}

TEST(LoraLinear, ForwardIsBasePlusScaledLowRankTerm) {
  model::LoraOptions options;
  options.r = 4;
  options.lora_alpha = 8;
  auto layer = make_adapted(12, 10, true, options);
  EXPECT_DOUBLE_EQ(layer->scaling(), 2.0);
  auto x = torch::randn({3, 5, 12});
  auto want = torch::matmul(x, layer->weight.t()) + layer->bias +
              2.0 * torch::matmul(torch::matmul(x, layer->lora_A.t()), layer->lora_B.t());
  EXPECT_CLOSE("lora forward", layer(x), want, 1e-5);
  auto names = layer->named_parameters().keys();
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "lora_A", "lora_B"}));
  EXPECT_FALSE(layer->weight.requires_grad());
  EXPECT_FALSE(layer->bias.requires_grad());
  EXPECT_TRUE(layer->lora_A.requires_grad());
}

TEST(LoraLinear, RsLoraScaling) {
  model::LoraOptions options;
  options.r = 16;
  options.lora_alpha = 8;
  options.use_rslora = true;
  auto layer = make_adapted(8, 8, false, options);
  EXPECT_DOUBLE_EQ(layer->scaling(), 2.0);
}

TEST(LoraLinear, PeftInitialisation) {
  torch::manual_seed(0);
  model::LoraLinear layer(400, 30, false);
  model::LoraOptions options;
  options.r = 64;
  layer->attach_lora(options);
  EXPECT_EQ(layer->lora_A.sizes(), (std::vector<int64_t>{64, 400}));
  EXPECT_EQ(layer->lora_B.sizes(), (std::vector<int64_t>{30, 64}));
  EXPECT_EQ(layer->lora_B.abs().max().item<double>(), 0.0);
  // kaiming_uniform(a = sqrt(5)) on [r, in] is U(-1/sqrt(in), 1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(400.0);
  EXPECT_LE(layer->lora_A.abs().max().item<double>(), bound);
  EXPECT_GT(layer->lora_A.abs().max().item<double>(), 0.95 * bound);
  EXPECT_NEAR(layer->lora_A.std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound);
  auto x = torch::randn({2, 400});
  EXPECT_CLOSE("fresh adapter is a no-op", layer(x), torch::matmul(x, layer->weight.t()), 1e-6);
}

TEST(LoraLinear, DisabledIsBaseModel) {
  auto layer = make_adapted(12, 10, true);
  auto x = torch::randn({4, 12});
  auto base = torch::linear(x, layer->weight, layer->bias);
  EXPECT_FALSE(torch::allclose(layer(x), base));
  layer->set_enabled(false);
  EXPECT_TRUE(torch::equal(layer(x), base));
  layer->set_enabled(true);
  EXPECT_FALSE(torch::allclose(layer(x), base));
}

TEST(LoraLinear, MergeThenUnmergeRestoresWeightAndOutputs) {
  auto layer = make_adapted(16, 24, true);
  auto x = torch::randn({5, 16});
  auto original = layer->weight.clone();
  auto unmerged_out = layer(x);
  layer->merge();
  EXPECT_TRUE(layer->merged());
  EXPECT_FALSE(torch::allclose(layer->weight, original));
  EXPECT_CLOSE("merged weight", layer->weight, original + layer->delta_weight(), 1e-6);
  EXPECT_CLOSE("merged forward == unmerged forward", layer(x), unmerged_out, 1e-5);
  EXPECT_THROW(layer->set_enabled(false), Error);
  layer->merge();  // no-op when merged
  layer->unmerge();
  EXPECT_FALSE(layer->merged());
  EXPECT_CLOSE("unmerged weight", layer->weight, original, 1e-6);
  EXPECT_CLOSE("forward after unmerge", layer(x), unmerged_out, 1e-5);
}

TEST(LoraLinear, DropoutOnlyInTrainingMode) {
  model::LoraOptions options;
  options.lora_dropout = 0.5;
  auto layer = make_adapted(32, 32, false, options);
  auto x = torch::randn({64, 32});
  layer->eval();
  auto a = layer(x), b = layer(x);
  EXPECT_TRUE(torch::equal(a, b));
  layer->train();
  auto c = layer(x);
  EXPECT_FALSE(torch::allclose(a, c));
  // Dropout touches only the adapter input: with the adapter disabled training changes nothing.
  layer->set_enabled(false);
  EXPECT_TRUE(torch::equal(layer(x), torch::linear(x, layer->weight)));
}

TEST(LoraLinear, Fp32AdapterOnBf16Base) {
  model::LoraOptions options;
  options.dtype = torch::kFloat32;
  torch::manual_seed(1);
  model::LoraLinear layer(16, 8, true);
  layer->to(torch::kBFloat16);
  layer->attach_lora(options);
  EXPECT_EQ(layer->lora_A.scalar_type(), torch::kFloat32);
  auto x = torch::randn({3, 16}).to(torch::kBFloat16);
  auto y = layer(x);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  y.to(torch::kFloat32).sum().backward();
  EXPECT_TRUE(layer->lora_B.grad().defined());
  EXPECT_EQ(layer->lora_B.grad().scalar_type(), torch::kFloat32);
}

TEST(LoraLinear, DetachRemovesAdapterAndBadOptionsThrow) {
  auto layer = make_adapted(8, 8, false);
  auto original = layer->weight.clone();
  layer->merge();
  layer->detach_lora();
  EXPECT_FALSE(layer->has_lora());
  EXPECT_EQ(layer->named_parameters().size(), 1u);
  EXPECT_CLOSE("detach unmerges", layer->weight, original, 1e-6);
  model::LoraOptions bad;
  bad.r = 0;
  EXPECT_THROW(layer->attach_lora(bad), Error);
  layer->attach_lora({});
  EXPECT_THROW(layer->attach_lora({}), Error);
}

}  // namespace
}  // namespace lethe
