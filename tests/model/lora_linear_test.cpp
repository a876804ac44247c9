// LoraLinear: PEFT init, forward formula, merge/unmerge, the enabled switch, dropout, detach; the
// fused LoRA autograd node (forward_shared_input) against the composite formula and its gradients.
#include "model/lora_linear.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "device_test.h"
#include "expect_close.h"

namespace lethe {
namespace {

model::LoraLinear make_adapted(int64_t in, int64_t out, bool bias,
                               model::LoraOptions options = {},
                               torch::Device device = torch::kCPU) {
  torch::manual_seed(3);
  model::LoraLinear layer(in, out, bias);
  layer->attach_lora(options);
  {
    torch::NoGradGuard no_grad;
    layer->lora_B.normal_(0.0, 0.5);  // PEFT starts B at zero; a trained adapter does not
  }
  layer->to(device);
  return layer;
}

// The numeric tests below run on every device of test_devices() (CPU, and CUDA when present).
class LoraLinearOnDevice : public test::OnDevice {};
LETHE_DEVICE_SUITE(LoraLinearOnDevice);

TEST_P(LoraLinearOnDevice, ForwardIsBasePlusScaledLowRankTerm) {
  model::LoraOptions options;
  options.r = 4;
  options.lora_alpha = 8;
  auto layer = make_adapted(12, 10, true, options, device());
  EXPECT_DOUBLE_EQ(layer->scaling(), 2.0);
  auto x = randn({3, 5, 12});
  auto want = torch::matmul(x, layer->weight.t()) + layer->bias +
              2.0 * torch::matmul(torch::matmul(x, layer->lora_A.t()), layer->lora_B.t());
  EXPECT_EQ(layer(x).device(), device());
  EXPECT_CLOSE("lora forward", layer(x).cpu(), want.cpu(), tolerance(1e-5, 1e-4));
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

TEST_P(LoraLinearOnDevice, MergeThenUnmergeRestoresWeightAndOutputs) {
  auto layer = make_adapted(16, 24, true, {}, device());
  auto x = randn({5, 16});
  auto original = layer->weight.clone();
  auto unmerged_out = layer(x);
  layer->merge();
  EXPECT_TRUE(layer->merged());
  EXPECT_FALSE(torch::allclose(layer->weight, original));
  const double atol = tolerance(1e-5, 1e-4);
  EXPECT_CLOSE("merged weight", layer->weight.cpu(), (original + layer->delta_weight()).cpu(),
               tolerance(1e-6, 1e-5));
  EXPECT_CLOSE("merged forward == unmerged forward", layer(x).cpu(), unmerged_out.cpu(), atol);
  EXPECT_THROW(layer->set_enabled(false), Error);
  layer->merge();  // no-op when merged
  layer->unmerge();
  EXPECT_FALSE(layer->merged());
  EXPECT_CLOSE("unmerged weight", layer->weight.cpu(), original.cpu(), tolerance(1e-6, 1e-5));
  EXPECT_CLOSE("forward after unmerge", layer(x).cpu(), unmerged_out.cpu(), atol);
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

// q/k/v-like projections of one input with different ranks and output sizes, B non-zero.
std::vector<model::LoraLinear> make_shared_input_group(bool bias, torch::ScalarType base_dtype,
                                                       torch::Device device = torch::kCPU) {
  torch::manual_seed(5);
  std::vector<model::LoraLinear> group;
  for (auto [out, r] : std::vector<std::pair<int64_t, int64_t>>{{10, 4}, {6, 2}, {6, 4}}) {
    model::LoraLinear layer(12, out, bias);
    layer->to(base_dtype);
    model::LoraOptions options;
    options.r = r;
    options.lora_alpha = 3.0 * r;  // scaling 3: not a power of two
    options.dtype = torch::kFloat32;
    layer->attach_lora(options);
    torch::NoGradGuard no_grad;
    layer->lora_B.normal_(0.0, 0.5);
    layer->to(device);
    group.push_back(layer);
  }
  return group;
}

// The same projections as the PEFT formula in plain differentiable ops on copies of the parameters
// (adapter term in fp32, rounded to the base dtype before the add); returns the outputs and fills
// `params` with the copies (weight, bias, lora_A, lora_B per projection).
std::vector<torch::Tensor> composite_forward(const std::vector<model::LoraLinear>& group,
                                             const torch::Tensor& x,
                                             std::vector<torch::Tensor>* params) {
  std::vector<torch::Tensor> outputs;
  for (const auto& layer : group) {
    auto copy = [&](const torch::Tensor& t) {
      auto c = t.defined() ? t.detach().clone().requires_grad_(t.requires_grad()) : t;
      params->push_back(c);
      return c;
    };
    auto w = copy(layer->weight), b = copy(layer->bias), a = copy(layer->lora_A),
         bb = copy(layer->lora_B);
    auto lora = torch::linear(torch::linear(x.to(torch::kFloat32), a), bb) * layer->scaling();
    outputs.push_back(torch::linear(x, w, b) + lora.to(x.scalar_type()));
  }
  return outputs;
}

// Sum of outputs weighted by fixed random tensors, so every output gets a distinct gradient.
torch::Tensor weighted_sum(const std::vector<torch::Tensor>& outputs) {
  torch::manual_seed(11);
  torch::Tensor total = torch::zeros({}, torch::kFloat32).to(outputs.at(0).device());
  for (const auto& y : outputs)
    total = total + (y.to(torch::kFloat32) * torch::randn(y.sizes()).to(y.device())).sum();
  return total;
}

TEST_P(LoraLinearOnDevice, SharedInputNodeMatchesCompositeFormulaAndGradients) {
  const double atol = tolerance(1e-5, 1e-4);
  // CPU tensors for the comparison helper.
  auto close = [&](const std::string& name, const torch::Tensor& got, const torch::Tensor& want) {
    EXPECT_CLOSE(name, got.cpu(), want.cpu(), atol);
  };
  for (bool trainable_base : {false, true}) {
    auto group = make_shared_input_group(/*bias=*/true, torch::kFloat32, device());
    if (trainable_base) {
      for (auto& layer : group) {
        layer->weight.set_requires_grad(true);
        layer->bias.set_requires_grad(true);
      }
    }
    auto x = randn({3, 5, 12}).requires_grad_(true);
    auto x_ref = x.detach().clone().requires_grad_(true);
    std::vector<torch::Tensor> ref_params;
    auto want = composite_forward(group, x_ref, &ref_params);
    auto got = model::forward_shared_input(x, {group[0].get(), group[1].get(), group[2].get()});
    ASSERT_EQ(got.size(), 3u);
    for (size_t i = 0; i < 3; ++i)
      close("output " + std::to_string(i), got[i], want[i]);
    weighted_sum(got).backward();
    weighted_sum(want).backward();
    close("grad x", x.grad(), x_ref.grad());
    for (size_t i = 0; i < 3; ++i) {
      const std::string n = std::to_string(i);
      close("grad lora_A " + n, group[i]->lora_A.grad(), ref_params[4 * i + 2].grad());
      close("grad lora_B " + n, group[i]->lora_B.grad(), ref_params[4 * i + 3].grad());
      if (trainable_base) {
        close("grad weight " + n, group[i]->weight.grad(), ref_params[4 * i].grad());
        close("grad bias " + n, group[i]->bias.grad(), ref_params[4 * i + 1].grad());
      } else {
        EXPECT_FALSE(group[i]->weight.grad().defined());
      }
    }
  }
}

TEST(LoraLinear, FusedNodeWithoutBiasOrInputGradient) {
  auto group = make_shared_input_group(/*bias=*/false, torch::kFloat32);
  auto x = torch::randn({7, 12});  // an input that needs no gradient (the first layer's)
  std::vector<torch::Tensor> ref_params;
  auto want = composite_forward({group[1]}, x, &ref_params);
  auto got = group[1](x);  // one projection: the same node with one member
  EXPECT_CLOSE("output", got, want[0], 1e-5);
  weighted_sum({got}).backward();
  weighted_sum(want).backward();
  EXPECT_CLOSE("grad lora_A", group[1]->lora_A.grad(), ref_params[2].grad(), 1e-5);
  EXPECT_CLOSE("grad lora_B", group[1]->lora_B.grad(), ref_params[3].grad(), 1e-5);
}

TEST_P(LoraLinearOnDevice, FusedNodeOnBf16BaseStaysWithinBf16Rounding) {
  auto group = make_shared_input_group(/*bias=*/true, torch::kBFloat16, device());
  auto x = randn({4, 6, 12}).to(torch::kBFloat16).requires_grad_(true);
  auto x_ref = x.detach().clone().requires_grad_(true);
  std::vector<torch::Tensor> ref_params;
  auto want = composite_forward(group, x_ref, &ref_params);
  auto got = model::forward_shared_input(x, {group[0].get(), group[1].get(), group[2].get()});
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].scalar_type(), torch::kBFloat16);
    // Outputs are O(1): a couple of bf16 roundings (2^-8 relative) apart at most.
    EXPECT_CLOSE("output " + std::to_string(i), got[i].to(torch::kFloat32).cpu(),
                 want[i].to(torch::kFloat32).cpu(), 2e-2, 1e-2);
  }
  weighted_sum(got).backward();
  weighted_sum(want).backward();
  EXPECT_EQ(x.grad().scalar_type(), torch::kBFloat16);
  EXPECT_CLOSE("grad x", x.grad().to(torch::kFloat32).cpu(), x_ref.grad().to(torch::kFloat32).cpu(), 5e-2,
               2e-2);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(group[i]->lora_A.grad().scalar_type(), torch::kFloat32);
    // Adapter gradients come from fp32 GEMMs on the same bf16 values: fp32 agreement.
    EXPECT_CLOSE("grad lora_A", group[i]->lora_A.grad().cpu(), ref_params[4 * i + 2].grad().cpu(),
                 tolerance(1e-4, 1e-3), 1e-4);
    EXPECT_CLOSE("grad lora_B", group[i]->lora_B.grad().cpu(), ref_params[4 * i + 3].grad().cpu(),
                 tolerance(1e-4, 1e-3), 1e-4);
  }
}

TEST(LoraLinear, SharedInputFallsBackPerProjection) {
  auto group = make_shared_input_group(/*bias=*/true, torch::kFloat32);
  group[1]->set_enabled(false);  // one member without an active adapter: each runs on its own
  auto x = torch::randn({2, 12});
  auto got = model::forward_shared_input(x, {group[0].get(), group[1].get(), group[2].get()});
  for (size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(torch::equal(got[i], group[i](x))) << "projection " << i;
  EXPECT_TRUE(torch::equal(got[1], torch::linear(x, group[1]->weight, group[1]->bias)));
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
