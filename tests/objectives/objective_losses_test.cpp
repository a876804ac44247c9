// Every objective's loss and gradient on small hand-computed log-probability tensors: the expected
// values are written out with plain arithmetic here, never by calling the library's formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "device_test.h"
#include "expect_close.h"
#include "objectives/methods.h"
#include "objectives/objective.h"

namespace lethe::objectives {
namespace {

using Rows = std::vector<std::vector<double>>;

// The device of the running test case (ObjectiveLosses is parametrised by device): every input
// tensor is made there, so the objectives' formulas run on it.
torch::Device loss_device = torch::kCPU;

torch::Tensor tensor(const Rows& rows) {
  std::vector<double> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kDouble)
      .reshape({static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())})
      .to(loss_device, torch::kFloat);
}

// A float vector on the test's device.
torch::Tensor vec(std::vector<float> values) { return torch::tensor(values).to(loss_device); }

// A side whose logp_token is a leaf that requires grad (so tests can read d loss / d logp).
SideLogprobs side(const Rows& logp, const Rows& mask) {
  SideLogprobs s;
  s.logp_token = tensor(logp).requires_grad_(true);
  s.loss_mask = tensor(mask);
  return s;
}

double log_sigmoid(double x) { return -std::log1p(std::exp(-x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double loss_of(const ObjectiveOutput& out) { return out.loss.item<double>(); }
std::vector<double> values(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kDouble).contiguous().view(-1);
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// Forget batch used throughout: example 0 has answer tokens logp -1, -2 (third position is prompt,
// carrying a junk value the mask must hide); example 1 has one answer token, logp -0.5.
SideLogprobs forget_side() {
  return side({{-1.0, -2.0, -7.0}, {-0.5, 0.0, 0.0}}, {{1, 1, 0}, {1, 0, 0}});
}
// Retain batch: tokens -0.2, -0.4, -0.6 (one example) and -1.0 (another).
SideLogprobs retain_side() {
  return side({{-0.2, -0.4, -0.6}, {0.0, -1.0, 0.0}}, {{1, 1, 1}, {0, 1, 0}});
}

// Every loss below runs on each device of test_devices() (CPU, and CUDA when present): the
// hand-computed values are the same, within each device's tolerance.
class ObjectiveLosses : public test::OnDevice {
 protected:
  void SetUp() override { loss_device = device(); }
  void TearDown() override { loss_device = torch::kCPU; }
};
LETHE_DEVICE_SUITE(ObjectiveLosses);

TEST_P(ObjectiveLosses, SftIsTheMeanNllOverAnswerTokens) {
  ObjectiveInputs in;
  in.forget = forget_side();
  auto out = find_objective("sft").loss(in, {});
  EXPECT_NEAR(loss_of(out), (1.0 + 2.0 + 0.5) / 3.0, 1e-6);
  out.loss.backward();
  // d/dlogp of -(sum logp)/3 = -1/3 on answer tokens, 0 on the masked prompt token.
  EXPECT_CLOSE("grad", values(in.forget.logp_token.grad()),
               std::vector<double>({-1 / 3.0, -1 / 3.0, 0, -1 / 3.0, 0, 0}), 1e-6);
}

TEST_P(ObjectiveLosses, GradAscentGradientLowersForgetLogprobs) {
  ObjectiveInputs in;
  in.forget = forget_side();
  auto out = find_objective("grad_ascent").loss(in, {});
  EXPECT_NEAR(loss_of(out), -(3.5 / 3.0), 1e-6);
  EXPECT_NEAR(out.parts.at("nll_forget"), 3.5 / 3.0, 1e-6);
  out.loss.backward();
  // Positive gradient: a descent step lowers every answer token's log-probability.
  EXPECT_CLOSE("grad", values(in.forget.logp_token.grad()),
               std::vector<double>({1 / 3.0, 1 / 3.0, 0, 1 / 3.0, 0, 0}), 1e-6);
}

TEST_P(ObjectiveLosses, GradDiffWeighsForgetAscentAndRetainDescent) {
  ObjectiveInputs in;
  in.forget = forget_side();
  in.retain = retain_side();
  const double nll_f = 3.5 / 3.0, nll_r = (0.2 + 0.4 + 0.6 + 1.0) / 4.0;
  auto out = find_objective("grad_diff").loss(in, {});
  EXPECT_NEAR(loss_of(out), -nll_f + nll_r, 1e-6);
  out = find_objective("grad_diff").loss(in, {{"forget_weight", 0.5}, {"retain_weight", 2.0}});
  EXPECT_NEAR(loss_of(out), -0.5 * nll_f + 2.0 * nll_r, 1e-6);
  EXPECT_NEAR(out.parts.at("loss_forget"), -nll_f, 1e-6);
  EXPECT_NEAR(out.parts.at("loss_retain"), nll_r, 1e-6);
  out.loss.backward();
  EXPECT_GT(in.forget.logp_token.grad()[0][0].item<double>(), 0);  // forget log p pushed down
  EXPECT_NEAR(in.retain.logp_token.grad()[1][1].item<double>(), -2.0 / 4.0, 1e-6);  // retain up
}

TEST_P(ObjectiveLosses, NpoMatchesClosedFormAndItsGradientWeight) {
  ObjectiveInputs in;
  in.forget = forget_side();
  in.forget.logp_ref = vec({-2.5, -1.0});
  const double beta = 0.5;
  // Sequence log-probs -3 and -0.5; deltas to the reference -0.5 and +0.5.
  const double d0 = -3.0 - -2.5, d1 = -0.5 - -1.0;
  const double want = -(2 / beta) * (log_sigmoid(-beta * d0) + log_sigmoid(-beta * d1)) / 2;
  auto out = find_objective("npo").loss(in, {{"beta", beta}});
  EXPECT_NEAR(loss_of(out), want, 1e-6);
  EXPECT_NEAR(out.parts.at("logratio_forget"), (d0 + d1) / 2, 1e-6);
  out.loss.backward();
  // dL/dlogp_token = 2 sigmoid(beta delta_b) / B for each answer token of example b.
  const double w0 = 2 * sigmoid(beta * d0) / 2, w1 = 2 * sigmoid(beta * d1) / 2;
  EXPECT_CLOSE("grad", values(in.forget.logp_token.grad()),
               std::vector<double>({w0, w0, 0, w1, 0, 0}), 1e-6);
  // The default beta is 0.1.
  EXPECT_NEAR(loss_of(find_objective("npo").loss(in, {})),
              -(2 / 0.1) * (log_sigmoid(-0.1 * d0) + log_sigmoid(-0.1 * d1)) / 2, 1e-5);
}

TEST_P(ObjectiveLosses, NpoAtTheReferenceEqualsFourLogTwoOverBetaHalved) {
  // At theta = ref every delta is 0: L = -(2/beta) log(1/2) and the gradient weight is 1/B.
  ObjectiveInputs in;
  in.forget = forget_side();
  in.forget.logp_ref = vec({-3.0, -0.5});
  auto out = find_objective("npo").loss(in, {{"beta", 0.2}});
  EXPECT_NEAR(loss_of(out), (2 / 0.2) * std::log(2.0), 1e-5);
  out.loss.backward();
  EXPECT_NEAR(in.forget.logp_token.grad()[0][1].item<double>(), 0.5, 1e-6);
}

TEST_P(ObjectiveLosses, NpoGdAndNpoKlAddTheirRetainTerms) {
  ObjectiveInputs in;
  in.forget = forget_side();
  in.forget.logp_ref = vec({-2.5, -1.0});
  in.retain = retain_side();
  // Reference token log-probs on retain: differences d = logp - ref of -0.1, +0.2, 0 and -0.3.
  in.retain.logp_ref_token = tensor({{-0.1, -0.6, -0.6}, {0.0, -0.7, 0.0}});
  const double beta = 0.1;
  const double npo = -(2 / beta) * (log_sigmoid(-beta * -0.5) + log_sigmoid(-beta * 0.5)) / 2;
  const double nll_r = 2.2 / 4.0;
  auto k3 = [](double d) { return std::exp(d) - 1 - d; };
  const double kl = (k3(-0.1) + k3(0.2) + k3(0.0) + k3(-0.3)) / 4.0;
  EXPECT_NEAR(loss_of(find_objective("npo_gd").loss(in, {})), npo + nll_r, 1e-5);
  EXPECT_NEAR(loss_of(find_objective("npo_gd").loss(in, {{"retain_weight", 3.0}})), npo + 3 * nll_r,
              1e-5);
  auto out = find_objective("npo_kl").loss(in, {{"retain_weight", 2.0}, {"forget_weight", 0.5}});
  EXPECT_NEAR(loss_of(out), 0.5 * npo + 2 * kl, 1e-5);
  EXPECT_NEAR(out.parts.at("kl_retain"), kl, 1e-6);
}

TEST_P(ObjectiveLosses, GaKlUsesTheK3EstimatorWhichIsZeroOnlyAtTheReference) {
  ObjectiveInputs in;
  in.forget = forget_side();
  in.retain = retain_side();
  in.retain.logp_ref_token = in.retain.logp_token.detach().clone();
  auto out = find_objective("ga_kl").loss(in, {});
  EXPECT_NEAR(out.parts.at("kl_retain"), 0.0, 1e-7);
  EXPECT_NEAR(loss_of(out), -3.5 / 3.0, 1e-6);
  out.loss.backward();
  // At the reference the KL gradient vanishes: retain tokens get no push either way.
  EXPECT_NEAR(in.retain.logp_token.grad().abs().max().item<double>(), 0.0, 1e-7);

  // Off the reference, in both directions, the penalty is positive and pulls back toward it.
  in.retain = retain_side();
  in.retain.logp_ref_token = tensor({{-0.7, 0.0, -0.6}, {0.0, -1.0, 0.0}});
  out = find_objective("ga_kl").loss(in, {{"retain_weight", 1.0}});
  const double kl = (std::exp(0.5) - 1 - 0.5 + std::exp(-0.4) - 1 + 0.4) / 4.0;
  EXPECT_NEAR(out.parts.at("kl_retain"), kl, 1e-6);
  out.loss.backward();
  auto g = in.retain.logp_token.grad();
  EXPECT_NEAR(g[0][0].item<double>(), (std::exp(0.5) - 1) / 4.0, 1e-6);   // above ref: pushed down
  EXPECT_NEAR(g[0][1].item<double>(), (std::exp(-0.4) - 1) / 4.0, 1e-6);  // below ref: pushed up
}

TEST_P(ObjectiveLosses, SimNpoIsLengthNormalisedWithMargin) {
  ObjectiveInputs in;
  in.forget = forget_side();  // sequence log-probs -3 over 2 tokens, -0.5 over 1 token
  const double beta = 2.5, gamma = 0.5;
  const double want =
      -(2 / beta) *
      (log_sigmoid(-(beta / 2) * -3.0 - gamma) + log_sigmoid(-(beta / 1) * -0.5 - gamma)) / 2;
  auto out = find_objective("simnpo").loss(in, {{"gamma", gamma}, {"retain_weight", 0.0}});
  EXPECT_NEAR(loss_of(out), want, 1e-6);
  EXPECT_EQ(out.parts.count("loss_retain"), 0u);
  out.loss.backward();
  // dL/dlogp_t = (2/|y|) sigmoid(beta/|y| logp + gamma) / B, positive: forget log p pushed down.
  const double g0 = (2.0 / 2) * sigmoid((beta / 2) * -3.0 + gamma) / 2;
  const double g1 = (2.0 / 1) * sigmoid((beta / 1) * -0.5 + gamma) / 2;
  EXPECT_CLOSE("grad", values(in.forget.logp_token.grad()),
               std::vector<double>({g0, g0, 0, g1, 0, 0}), 1e-6);
  // Default: beta 2.5, gamma 0, plus the retain NLL with weight 1.
  in.retain = retain_side();
  const double def = -(2 / 2.5) * (log_sigmoid(1.25 * 3.0) + log_sigmoid(2.5 * 0.5)) / 2;
  EXPECT_NEAR(loss_of(find_objective("simnpo").loss(in, {})), def + 2.2 / 4.0, 1e-6);
}

TEST_P(ObjectiveLosses, DpoPrefersRefusalsOverTrueAnswers) {
  ObjectiveInputs in;
  in.forget = forget_side();  // rejected: sequences -3, -0.5
  in.forget.logp_ref = vec({-2.0, -1.5});
  in.preferred = side({{-4.0, -1.0}, {-2.0, -2.0}}, {{1, 1}, {1, 0}});  // preferred: -5, -2
  in.preferred.logp_ref = vec({-5.5, -1.0});
  const double beta = 0.1;
  // z_b = (w - w_ref) - (l - l_ref): (0.5 - (-1)) = 1.5 and (-1 - 1) = -2.
  const double z0 = 1.5, z1 = -2.0;
  auto out = find_objective("dpo").loss(in, {});
  EXPECT_NEAR(loss_of(out), -(log_sigmoid(beta * z0) + log_sigmoid(beta * z1)) / 2, 1e-6);
  EXPECT_NEAR(out.parts.at("logratio_preferred"), (0.5 + -1.0) / 2, 1e-6);
  EXPECT_NEAR(out.parts.at("logratio_rejected"), (-1.0 + 1.0) / 2, 1e-6);
  out.loss.backward();
  // dL/dw_b = -beta sigmoid(-beta z_b) / B (refusal pushed up); dL/dl_b = +beta sigmoid(-beta z_b)
  // / B.
  const double g0 = beta * sigmoid(-beta * z0) / 2, g1 = beta * sigmoid(-beta * z1) / 2;
  EXPECT_CLOSE("grad preferred", values(in.preferred.logp_token.grad()),
               std::vector<double>({-g0, -g0, -g1, 0}), 1e-7);
  EXPECT_CLOSE("grad rejected", values(in.forget.logp_token.grad()),
               std::vector<double>({g0, g0, 0, g1, 0, 0}), 1e-7);
  // idk_dpo adds the retain NLL.
  in.retain = retain_side();
  EXPECT_NEAR(loss_of(find_objective("idk_dpo").loss(in, {{"retain_weight", 0.5}})),
              -(log_sigmoid(beta * z0) + log_sigmoid(beta * z1)) / 2 + 0.5 * 2.2 / 4.0, 1e-6);
}

TEST_P(ObjectiveLosses, RtTrainsOnTheRefusalsOnly) {
  ObjectiveInputs in;
  in.forget = forget_side();
  in.preferred = side({{-4.0, -1.0}, {-2.0, -2.0}}, {{1, 1}, {1, 0}});
  auto out = find_objective("rt").loss(in, {});
  EXPECT_NEAR(loss_of(out), (4.0 + 1.0 + 2.0) / 3.0, 1e-6);
  out.loss.backward();
  EXPECT_FALSE(in.forget.logp_token.grad().defined());  // the true answers are not read
  in.retain = retain_side();
  EXPECT_NEAR(loss_of(find_objective("rt").loss(in, {{"retain_weight", 1.0}})),
              7.0 / 3.0 + 2.2 / 4.0, 1e-6);
}

TEST_P(ObjectiveLosses, TaskVectorTrainsTheForgetAdapterWithSft) {
  ObjectiveInputs in;
  in.forget = forget_side();
  EXPECT_NEAR(loss_of(find_objective("task_vector").loss(in, {})), 3.5 / 3.0, 1e-6);
  EXPECT_TRUE(find_objective("task_vector").negates_adapter);
}

TEST(ObjectiveRmu, DirectionIsASeededUnitVector) {
  auto u = rmu_direction(64, 7);
  EXPECT_NEAR(u.norm().item<double>(), 1.0, 1e-6);
  EXPECT_GE(u.min().item<double>(), 0.0);  // WMDP draws U[0, 1) before normalising
  EXPECT_TRUE(torch::equal(u, rmu_direction(64, 7)));
  EXPECT_FALSE(torch::allclose(u, rmu_direction(64, 8)));
}

TEST_P(ObjectiveLosses, RmuSteersForgetActivationsAndAnchorsRetainOnes) {
  // C = 2, T = 2, one example per side; layer 0 = hidden_states[1].
  ObjectiveInputs in;
  in.forget = side({{-1.0, -1.0}}, {{1, 1}});
  in.retain = side({{-1.0, -1.0}}, {{0, 1}});
  auto h_f = vec({1.0, 2.0, 3.0, 4.0}).reshape({1, 2, 2}).requires_grad_(true);
  auto h_r = vec({0.0, 0.0, 1.0, 1.0}).reshape({1, 2, 2}).requires_grad_(true);
  auto h_ref = vec({9.0, 9.0, 1.5, 0.0}).reshape({1, 2, 2});
  in.forget.hidden_states = {torch::Tensor(), h_f};
  in.retain.hidden_states = {torch::Tensor(), h_r};
  in.retain.hidden_ref = {torch::Tensor(), h_ref};
  const double c = 3.0, alpha = 10.0;
  auto u = rmu_direction(2, 5);
  const double u0 = u[0].item<double>(), u1 = u[1].item<double>();
  auto sq = [](double a, double b) { return (a - b) * (a - b); };
  const double forget =
      ((sq(1, c * u0) + sq(2, c * u1)) / 2 + (sq(3, c * u0) + sq(4, c * u1)) / 2) / 2;
  const double retain = (sq(1, 1.5) + sq(1, 0)) / 2;  // the first retain token is masked out
  auto out = find_objective("rmu").loss(
      in, {{"layer", 0}, {"steering_coeff", c}, {"alpha", alpha}, {"seed", 5}});
  EXPECT_NEAR(out.parts.at("loss_forget"), forget, 1e-5);
  EXPECT_NEAR(out.parts.at("loss_retain"), retain, 1e-6);
  EXPECT_NEAR(loss_of(out), forget + alpha * retain, 1e-4);
  out.loss.backward();
  // d/dh of the forget term: 2 (h - c u) / (C T) per element, C = T = 2.
  EXPECT_NEAR(h_f.grad()[0][1][0].item<double>(), (3 - c * u0) / 2, 1e-6);
  EXPECT_NEAR(h_r.grad()[0][0].abs().sum().item<double>(), 0.0, 1e-9);
  EXPECT_NEAR(h_r.grad()[0][1][0].item<double>(), alpha * (1 - 1.5), 1e-5);
}

TEST(ObjectiveRmu, UpdatesTheLayersUpToL) {
  EXPECT_EQ(rmu_updated_layers(resolve_params(find_objective("rmu"), {})),
            std::vector<int64_t>({5, 6, 7}));
  EXPECT_EQ(rmu_updated_layers(resolve_params(find_objective("rmu"), {{"layer", 1}})),
            std::vector<int64_t>({0, 1}));
}

}  // namespace
}  // namespace lethe::objectives
