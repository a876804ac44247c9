// Hidden-state drift, logit lens and the linear probe on the qwen2-tiny fixture (token ids
// directly; the fixture has no tokenizer) and on synthetic features.
#include <gtest/gtest.h>

#include "analysis/hidden_drift.h"
#include "analysis/linear_probe.h"
#include "analysis/logit_lens.h"
#include "core/error.h"
#include "expect_close.h"
#include "model/decoder_model.h"
#include "model/lora.h"

namespace lethe::analysis {
namespace {

model::CausalLM tiny() {
  return model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat32, torch::kCPU);
}

std::vector<torch::Tensor> hidden_of(model::CausalLM& m, const torch::Tensor& ids) {
  model::ForwardOptions fo;
  fo.output_hidden_states = true;
  return m->forward(ids, fo).hidden_states;
}

const torch::Tensor kIds =
    torch::tensor({{3, 41, 7, 300, 12, 99, 5, 250}, {8, 8, 100, 33, 2, 410, 77, 1}}, torch::kInt64);

TEST(AnalysisDrift, SelfDriftIsZeroAndLoraDriftPositive) {
  torch::NoGradGuard no_grad;
  auto m = tiny();
  const auto h = hidden_of(m, kIds);
  ASSERT_EQ(h.size(), 3u);  // embeddings + 2 layers
  torch::Tensor mask = torch::zeros({2, 8});
  mask.narrow(1, 4, 4).fill_(1);  // the "answer" positions
  const auto self = hidden_drift(h, h, mask);
  ASSERT_EQ(self.drift.sizes(), torch::IntArrayRef({3, 8}));
  EXPECT_EQ(self.drift.abs().max().item<double>(), 0.0);
  EXPECT_CLOSE("self cos", self.cosine, torch::ones({3, 8}, torch::kFloat64), 1e-12);

  model::load_adapter(m, test::fixture_path("qwen2-tiny-lora"));  // lora_B is non-zero
  const auto h_lora = hidden_of(m, kIds);
  const auto d = hidden_drift(h_lora, h, mask);
  // Embeddings are not adapted: no drift there; every layer after drifts.
  EXPECT_EQ(d.drift[0].abs().max().item<double>(), 0.0);
  EXPECT_GT(d.drift[1].min().item<double>(), 0.0);
  EXPECT_GT(d.drift[2].min().item<double>(), 0.0);
  EXPECT_LT(d.cosine[2].max().item<double>(), 1.0);
  // Drift by hand for one position.
  const torch::Tensor a = h_lora[2][1][5].to(torch::kFloat64), r = h[2][1][5].to(torch::kFloat64);
  const double want = ((a - r).norm() / r.norm()).item<double>();
  EXPECT_NEAR(d.drift[2][5].item<double>(), want, 1e-12);  // row 1, 2nd selected position

  DriftAccumulator acc;
  acc.add(d);
  acc.add(self);
  ASSERT_EQ(acc.positions(), 16);
  EXPECT_NEAR(acc.mean_drift()[2], d.drift[2].sum().item<double>() / 16, 1e-12);
  EXPECT_NEAR(acc.mean_cosine()[0], 1.0, 1e-12);
  EXPECT_THROW(hidden_drift(h, {h[0]}, mask), Error);
}

TEST(AnalysisLogitLens, LastLayerEqualsModelSoftmax) {
  torch::NoGradGuard no_grad;
  auto m = tiny();
  model::ForwardOptions fo;
  fo.output_hidden_states = true;
  const auto out = m->forward(kIds, fo);
  const torch::Tensor pos = torch::tensor({6, 3}, torch::kInt64);
  const torch::Tensor tgt = torch::tensor({5, 33}, torch::kInt64);
  const auto lens = logit_lens(m, out.hidden_states, pos, tgt);
  ASSERT_EQ(lens.rank.sizes(), torch::IntArrayRef({3, 2}));
  for (int64_t b = 0; b < 2; ++b) {
    const torch::Tensor p =
        torch::softmax(out.logits[b][pos[b].item<int64_t>()].to(torch::kFloat64), -1);
    const double want = p[tgt[b].item<int64_t>()].item<double>();
    EXPECT_NEAR(lens.prob[2][b].item<double>(), want, 1e-6 * std::max(1.0, want) + 1e-9);
    EXPECT_EQ(lens.rank[2][b].item<int64_t>(),
              (p > p[tgt[b].item<int64_t>()]).sum().item<int64_t>() + 1);
  }
  // The model's argmax has rank 1 at the last layer.
  const torch::Tensor top = torch::stack({out.logits[0][6].argmax(), out.logits[1][3].argmax()});
  const auto lens_top = logit_lens(m, out.hidden_states, pos, top);
  EXPECT_EQ(lens_top.rank[2][0].item<int64_t>(), 1);
  EXPECT_EQ(lens_top.rank[2][1].item<int64_t>(), 1);
  EXPECT_THROW(logit_lens(m, out.hidden_states, torch::tensor({6}), tgt), Error);
  // An intermediate layer goes through the final norm: check layer 1 by hand.
  const torch::Tensor h1 = m->decoder()->norm->forward(out.hidden_states[1][0][6]);
  const torch::Tensor p1 = torch::softmax(m->lm_head_forward(h1).to(torch::kFloat64), -1);
  EXPECT_NEAR(lens.prob[1][0].item<double>(), p1[5].item<double>(), 1e-9);
}

TEST(AnalysisProbe, SeparableFeaturesReachFullAccuracy) {
  torch::manual_seed(7);
  const int64_t K = 4, n = 30, C = 16;
  torch::Tensor centres = torch::randn({K, C}) * 4;
  torch::Tensor labels = torch::arange(K).repeat_interleave(n);
  torch::Tensor x = centres.index_select(0, labels) + torch::randn({K * n, C}) * 0.3;
  LinearProbe probe;
  probe.fit(x, labels, K);
  EXPECT_EQ(probe.accuracy(x, labels), 1.0);
  // Deterministic: a second fit gives the same weights / logits.
  LinearProbe again;
  again.fit(x, labels, K);
  EXPECT_TRUE(torch::equal(probe.logits(x), again.logits(x)));
  // Random labels on noise cannot be predicted on fresh noise much better than chance.
  const torch::Tensor noise = torch::randn({200, C});
  const torch::Tensor random_labels = torch::randint(0, K, {200}, torch::kInt64);
  LinearProbe chance;
  chance.fit(noise, random_labels, K);
  EXPECT_LT(chance.accuracy(torch::randn({400, C}), torch::randint(0, K, {400}, torch::kInt64)),
            0.4);
  EXPECT_THROW(probe.fit(x, labels.narrow(0, 0, 5), K), Error);
  EXPECT_THROW(probe.fit(x, labels + 10, K), Error);
  EXPECT_THROW(probe.logits(torch::randn({2, C + 1})), Error);
}

}  // namespace
}  // namespace lethe::analysis
