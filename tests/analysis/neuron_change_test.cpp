// Neuron-level change: the top-1% statistics on synthetic activation means with a known answer,
// neurons_json's pooling and overlap on synthetic states, and the MLP activation recorder on the
// qwen2-tiny fixture (a model against itself, one perturbed gate_proj row).
#include "analysis/neuron_change.h"

#include <gtest/gtest.h>

#include <cmath>

#include "analysis/mlp_activations.h"
#include "analysis/repr_run.h"
#include "core/error.h"
#include "expect_close.h"
#include "model/decoder_model.h"

namespace lethe::analysis {
namespace {

using json = nlohmann::json;

TEST(NeuronChange, TopCountIsOnePercentRoundedUp) {
  EXPECT_EQ(top_neuron_count(1), 1);
  EXPECT_EQ(top_neuron_count(100), 1);
  EXPECT_EQ(top_neuron_count(101), 2);
  EXPECT_EQ(top_neuron_count(176), 2);    // qwen2-tiny
  EXPECT_EQ(top_neuron_count(688), 7);    // lethe-base
  EXPECT_EQ(top_neuron_count(4864), 49);  // Qwen2.5-0.5B
  EXPECT_THROW(top_neuron_count(0), Error);
}

// Layer 0: only neurons 7, 150, 299 move (by 0.5, 2, 1): share 1 and exactly those ids, largest
// first. Layer 1: every neuron moves by 0.125: share k / I = 3 / 300, ties broken by lower id.
// Means in quarters, so every difference is exact and the ties are real ties.
TEST(NeuronChange, ChangeOnThreeNeuronsHasShareOneAndThoseIds) {
  torch::manual_seed(3);
  const torch::Tensor ref = torch::randint(-40, 40, {2, 300}, torch::kFloat64) / 4;
  torch::Tensor a = ref.clone();
  a[0][7] += 0.5;
  a[0][150] -= 2.0;  // |Δ| counts a decrease too
  a[0][299] += 1.0;
  a[1] += 0.125;
  const auto c = neuron_change(a, ref);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].top_neurons, (std::vector<int64_t>{150, 299, 7}));
  EXPECT_CLOSE("top change", c[0].top_change, std::vector<double>({2.0, 1.0, 0.5}), 1e-12);
  EXPECT_NEAR(c[0].share_top, 1.0, 1e-12);
  EXPECT_NEAR(c[0].total_change, 3.5, 1e-12);
  EXPECT_EQ(c[1].top_neurons, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_NEAR(c[1].share_top, 0.01, 1e-12);
  EXPECT_NEAR(c[1].total_change, 37.5, 1e-12);
  EXPECT_THROW(neuron_change(a, ref[0]), Error);
  // Layer 0's |Δ| at ids {7, 150, 8}: (0.5 + 2 + 0) / 3; layer 1's at any ids: 0.125.
  ASSERT_EQ(c[0].change.size(), 300u);
  EXPECT_NEAR(*mean_change_at(c[0], {7, 150, 8}), 2.5 / 3, 1e-12);
  EXPECT_NEAR(*mean_change_at(c[1], c[0].top_neurons), 0.125, 1e-12);
  EXPECT_THROW(mean_change_at(c[0], {300}), Error);
}

TEST(NeuronChange, IdenticalMeansGiveZeroAndNoNaN) {
  const torch::Tensor ref = torch::randn({3, 50}, torch::kFloat64);
  for (const auto& c : neuron_change(ref, ref.clone())) {
    EXPECT_TRUE(c.top_neurons.empty());
    EXPECT_EQ(c.total_change, 0.0);
    EXPECT_EQ(c.share_top, 0.0);  // defined (0), not 0 / 0
  }
  EXPECT_FALSE(mean_change_at(neuron_change(ref, ref.clone())[0], {}).has_value());
  EXPECT_EQ(top_overlap({}, {}, 1), 0.0);
  EXPECT_NEAR(top_overlap({1, 2, 3}, {3, 9, 2}, 3), 2.0 / 3.0, 1e-15);
  EXPECT_EQ(top_overlap({4}, {4}, 1), 1.0);
}

ReprExample example(bool forget, bool correlated, int64_t answer_tokens) {
  ReprExample e;
  e.ids.assign(2 + answer_tokens, 1);
  e.answer_start = 2;
  e.answer_end = 2 + answer_tokens;
  e.forget = forget;
  e.correlated = correlated;
  return e;
}

// Synthetic pooled sums (1 layer, 200 neurons: k = 2). The reference is 0 everywhere. Forget
// examples move neurons 5 and 6 (pooled over positions: (3 + 3) / (1 + 3) = 1.5 on neuron 5);
// correlated retain moves 5 and 100 (overlap 1/2); other retain moves 50 and 51 (overlap 0).
TEST(NeuronChange, NeuronsJsonPoolsOverPositionsAndMeasuresOverlap) {
  const std::vector<ReprExample> ex = {example(true, false, 1), example(true, false, 3),
                                       example(false, true, 2), example(false, false, 2)};
  ReprStates ref, s;
  ref.answer_neurons = torch::zeros({4, 1, 200});
  s.answer_neurons = torch::zeros({4, 1, 200});
  s.answer_neurons[0][0][5] = 3.0;  // mean over its 1 position: 3
  s.answer_neurons[1][0][5] = 3.0;  // mean over its 3 positions: 1
  s.answer_neurons[1][0][6] = 2.0;
  s.answer_neurons[2][0][5] = 4.0;
  s.answer_neurons[2][0][100] = 8.0;
  s.answer_neurons[3][0][50] = 2.0;
  s.answer_neurons[3][0][51] = 1.0;
  const json n = neurons_json(s, ref, ex);
  EXPECT_EQ(n["intermediate_size"], 200);
  EXPECT_EQ(n["top_k"], 2);
  EXPECT_NEAR(n["chance_overlap"].get<double>(), 0.01, 1e-15);
  EXPECT_EQ(n["layers"], json({"layer_1"}));
  const json& f = n["forget"];
  EXPECT_EQ(f["positions"], 4);
  EXPECT_EQ(f["top_neurons"], json({{5, 6}}));
  EXPECT_NEAR(f["top_change"][0][0].get<double>(), 1.5, 1e-12);  // position-weighted, not 2
  EXPECT_NEAR(f["top_change"][0][1].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(f["share_top1pct"][0].get<double>(), 1.0, 1e-12);
  EXPECT_FALSE(f.contains("overlap_with_forget"));
  EXPECT_EQ(n["correlated"]["top_neurons"], json({{100, 5}}));
  EXPECT_NEAR(n["correlated"]["overlap_with_forget"][0].get<double>(), 0.5, 1e-15);
  EXPECT_EQ(n["other"]["top_neurons"], json({{50, 51}}));
  EXPECT_EQ(n["other"]["overlap_with_forget"][0].get<double>(), 0.0);
  // Correlated |Δ| at the forget top {5, 6}: (2 + 0) / 2 = 1; at random: (2 + 4) / 200.
  const json& c = n["correlated"];
  EXPECT_NEAR(c["change_at_forget_top"][0].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR(c["change_at_random"][0].get<double>(), 0.03, 1e-12);
  EXPECT_NEAR(c["change_ratio_forget_top"][0].get<double>(), 1.0 / 0.03, 1e-9);
  // Other: nothing at {5, 6}; ratio 0 against (1 + 0.5) / 200.
  EXPECT_EQ(n["other"]["change_at_forget_top"][0].get<double>(), 0.0);
  EXPECT_NEAR(n["other"]["change_at_random"][0].get<double>(), 0.0075, 1e-12);
  EXPECT_EQ(n["other"]["change_ratio_forget_top"][0].get<double>(), 0.0);
  EXPECT_FALSE(f.contains("change_at_forget_top"));

  // No correlated questions: the set is listed with 0 positions and nothing else.
  const std::vector<ReprExample> no_corr = {ex[0], ex[1], ex[3], ex[3]};
  const json m = neurons_json(s, ref, no_corr);
  EXPECT_EQ(m["correlated"], json({{"positions", 0}}));
  ReprStates bare;
  EXPECT_THROW(neurons_json(bare, ref, ex), Error);
}

model::CausalLM tiny() {
  return model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat32, torch::kCPU);
}

// The hook records exactly silu(gate(x)) * up(x), changes no output, and is removed afterwards.
TEST(NeuronChangeTiny, RecorderCapturesTheSwiGluProductAndChangesNothing) {
  torch::NoGradGuard no_grad;
  auto m = tiny();
  const torch::Tensor ids =
      torch::tensor({{3, 41, 7, 300, 12, 99}, {8, 8, 100, 33, 2, 410}}, torch::kInt64);
  const torch::Tensor logits_before = m->forward(ids).logits;
  auto& mlp = m->decoder()->layer_list[1]->mlp;
  const torch::Tensor x = torch::randn({2, 3, 64});
  {
    MlpActivationRecorder rec(m);
    EXPECT_THROW({ MlpActivationRecorder again(m); }, Error);  // one recorder at a time
    EXPECT_TRUE(torch::equal(m->forward(ids).logits, logits_before));
    ASSERT_EQ(rec.activations().size(), 2u);
    EXPECT_EQ(rec.activations()[0].sizes(), torch::IntArrayRef({2, 6, 176}));
    torch::Tensor positions = torch::zeros({2, 6});
    positions[1][2] = positions[1][4] = 1;
    const torch::Tensor sums = rec.sum_over(positions);
    ASSERT_EQ(sums.sizes(), torch::IntArrayRef({2, 2, 176}));
    EXPECT_EQ(sums[0].abs().max().item<double>(), 0.0);
    EXPECT_CLOSE("pooled", sums[1][0], rec.activations()[0][1][2] + rec.activations()[0][1][4],
                 1e-6);
    mlp->forward(x);
    const torch::Tensor want =
        torch::silu(torch::nn::functional::linear(x, mlp->gate_proj->weight)) *
        torch::nn::functional::linear(x, mlp->up_proj->weight);
    EXPECT_CLOSE("swiglu", rec.activations()[1], want, 1e-5, 1e-5);
  }
  for (auto& layer : m->decoder()->layer_list) EXPECT_EQ(layer->mlp->capture_neurons, nullptr);
}

// Through collect_states + neurons_json: the model against itself moves nothing; one perturbed
// gate_proj row in layer 1 (hidden-state index) moves that neuron alone in that layer, since
// nothing before the layer's MLP changed.
TEST(NeuronChangeTiny, SelfIsZeroAndAPerturbedGateRowMovesThatNeuronFirst) {
  auto m = tiny();
  std::vector<ReprExample> ex;
  const std::vector<std::vector<int64_t>> seqs = {
      {3, 41, 7, 300, 12, 99, 5}, {8, 8, 100, 33, 2, 410}, {17, 260, 4, 4, 88}, {9, 11, 501, 6}};
  for (size_t i = 0; i < seqs.size(); ++i) {
    ReprExample e;
    e.ids = seqs[i];
    e.answer_start = 2;
    e.answer_end = int64_t(seqs[i].size());
    e.forget = i < 2;
    e.correlated = i == 2;
    ex.push_back(e);
  }
  const ReprStates ref = collect_states(m, ex, 3, true);
  ASSERT_EQ(ref.answer_neurons.sizes(), torch::IntArrayRef({4, 2, 176}));
  EXPECT_FALSE(collect_states(m, ex, 3).answer_neurons.defined());  // off by default

  const json self = neurons_json(collect_states(m, ex, 3, true), ref, ex);
  for (const char* set : {"forget", "correlated", "other"})
    for (int l = 0; l < 2; ++l) {
      SCOPED_TRACE(std::string(set) + " layer " + std::to_string(l));
      EXPECT_LE(self[set]["total_change"][l].get<double>(), 1e-9);
      EXPECT_TRUE(std::isfinite(self[set]["share_top1pct"][l].get<double>()));
    }

  const int64_t neuron = 123;
  {
    torch::NoGradGuard no_grad;
    m->decoder()->layer_list[0]->mlp->gate_proj->weight[neuron] += 0.5;
  }
  const json n = neurons_json(collect_states(m, ex, 3, true), ref, ex);
  EXPECT_EQ(n["top_k"], 2);
  for (const char* set : {"forget", "correlated", "other"}) {
    SCOPED_TRACE(set);
    ASSERT_GE(n[set]["top_neurons"][0].size(), 1u);
    EXPECT_EQ(n[set]["top_neurons"][0][0], neuron);
    EXPECT_NEAR(n[set]["share_top1pct"][0].get<double>(), 1.0, 1e-6);
    EXPECT_GT(n[set]["total_change"][1].get<double>(), 0.0);  // the change propagates
  }
  EXPECT_GE(n["correlated"]["overlap_with_forget"][0].get<double>(), 0.5);
}

}  // namespace
}  // namespace lethe::analysis
