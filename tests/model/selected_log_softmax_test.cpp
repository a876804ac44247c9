// selected_log_softmax against the composite it replaces (log_softmax(logits.float()).gather):
// values and gradients, fp32 and bf16, with chunks that split the rows unevenly.
#include "model/selected_log_softmax.h"

#include <gtest/gtest.h>

#include "device_test.h"
#include "expect_close.h"

namespace lethe {
namespace {

// Composite reference in float64: value and d(sum(w * value))/dlogits.
std::pair<torch::Tensor, torch::Tensor> reference(const torch::Tensor& logits,
                                                  const torch::Tensor& targets,
                                                  const torch::Tensor& weights) {
  auto x = logits.detach().to(torch::kFloat64).requires_grad_(true);
  auto value = torch::log_softmax(x, 1).gather(1, targets.unsqueeze(1)).squeeze(1);
  (value * weights.to(torch::kFloat64)).sum().backward();
  return {value.detach(), x.grad()};
}

void check(torch::Device device, torch::ScalarType dtype, int64_t chunk_elements, double value_tol,
           double grad_tol) {
  torch::manual_seed(3);
  const int64_t N = 10, V = 37;
  auto logits = (torch::randn({N, V}) * 4).to(device, dtype).requires_grad_(true);
  auto targets = torch::randint(0, V, {N}, torch::kInt64);
  targets[4] = targets[3];  // two rows with the same target
  targets = targets.to(device);
  auto weights = torch::randn({N}).to(device);
  auto got = model::selected_log_softmax(logits, targets, chunk_elements);
  ASSERT_EQ(got.scalar_type(), torch::kFloat32);
  (got * weights).sum().backward();
  ASSERT_EQ(logits.grad().scalar_type(), dtype);
  auto [want, want_grad] = reference(logits, targets, weights);
  const std::string name =
      std::string(c10::toString(dtype)) + " chunk " + std::to_string(chunk_elements);
  ASSERT_EQ(got.device(), device);
  EXPECT_CLOSE(name + " value", got.to(torch::kFloat64).cpu(), want.cpu(), value_tol);
  EXPECT_CLOSE(name + " gradient", logits.grad().to(torch::kFloat64).cpu(), want_grad.cpu(),
               grad_tol);
}

class SelectedLogSoftmaxOnDevice : public test::OnDevice {};
LETHE_DEVICE_SUITE(SelectedLogSoftmaxOnDevice);

TEST_P(SelectedLogSoftmaxOnDevice, MatchesLogSoftmaxGatherInValueAndGradient) {
  // 3 * V elements: chunks of 3 rows, the last one of 1; 0: the default (one chunk here).
  for (int64_t chunk : {int64_t(3 * 37), int64_t(1), int64_t(0)}) {
    check(device(), torch::kFloat32, chunk, tolerance(1e-5, 2e-5), tolerance(1e-6, 2e-6));
    // bf16 logits are exact inputs; the value is fp32 math on them, the gradient is rounded to
    // bf16.
    check(device(), torch::kBFloat16, chunk, tolerance(1e-5, 2e-5), 4e-3);
  }
}

TEST(SelectedLogSoftmax, NoRowsAndBadShapes) {
  auto empty = model::selected_log_softmax(torch::zeros({0, 5}), torch::zeros({0}, torch::kInt64));
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_THROW(model::selected_log_softmax(torch::zeros({3, 5}), torch::zeros({2}, torch::kInt64)),
               std::exception);
  EXPECT_THROW(model::selected_log_softmax(torch::zeros({3, 5}), torch::zeros({3})),
               std::exception);
}

}  // namespace
}  // namespace lethe
