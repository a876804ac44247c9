// CausalLM against the HF reference (qwen2-tiny): logits, argmax, token log-probs, bf16 statistics,
// padding invariance, hidden states, weight-loading errors; RoPE and masked GQA attention against
// their plain formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/attention.h"
#include "model/decoder_model.h"
#include "model/lora_linear.h"
#include "model/rotary.h"
#include "model_test_util.h"

namespace lethe {
namespace {

using test::tiny_reference;

TEST(CausalLM, Fp32LogitsArgmaxMatchReference) {
  for (const auto& device : test::test_devices()) {
    auto model = test::load_tiny(torch::kFloat32, device);
    torch::NoGradGuard no_grad;
    const double atol = device.is_cpu() ? 1e-4 : 1e-3;
    for (const auto& seq : tiny_reference()["sequences"]) {
      auto ids = test::ids_tensor(test::json_ids(seq["input_ids"])).to(device);
      auto logits = model->forward(ids).logits.squeeze(0).cpu();  // [T, V]
      const int64_t T = logits.size(0);
      EXPECT_CLOSE("last4 logits len " + std::to_string(T), logits.narrow(0, T - 4, 4),
                   test::json_tensor(seq["last4_logits"]), atol);
      auto argmax_t = logits.argmax(-1).contiguous();
      std::vector<int64_t> argmax(argmax_t.data_ptr<int64_t>(), argmax_t.data_ptr<int64_t>() + T);
      EXPECT_EQ(argmax, test::json_ids(seq["argmax"])) << "sequence length " << T;
    }
  }
}

TEST(CausalLM, TokenLogprobsMatchReference) {
  auto model = test::load_tiny();
  torch::NoGradGuard no_grad;
  for (const auto& seq : tiny_reference()["sequences"]) {
    auto ids = test::ids_tensor(test::json_ids(seq["input_ids"]));
    auto mask = torch::ones_like(ids);
    auto logp = model::token_logprobs(model, ids, mask, mask).squeeze(0);  // [T]
    EXPECT_EQ(logp[0].item<double>(), 0.0);
    EXPECT_CLOSE("token_logprobs", logp.narrow(0, 1, logp.size(0) - 1),
                 test::json_tensor(seq["token_logprobs"]), 1e-4);
    EXPECT_NEAR(logp.sum().item<double>(), seq["logprob_sum"].get<double>(), 1e-3);
  }
}

TEST(CausalLM, TokenLogprobsScoreOnlyMaskedPositionsAndAreDifferentiable) {
  auto model = test::load_tiny();
  const auto& seq = tiny_reference()["sequences"][1];
  auto ids = test::ids_tensor(test::json_ids(seq["input_ids"]));
  auto mask = torch::ones_like(ids);
  auto loss_mask = torch::zeros_like(ids);
  loss_mask.narrow(1, 10, 6).fill_(1);
  auto logp = model::token_logprobs(model, ids, mask, loss_mask).squeeze(0);
  auto want = test::json_tensor(seq["token_logprobs"]);  // index t-1 for position t
  EXPECT_EQ(logp.narrow(0, 0, 10).abs().sum().item<double>(), 0.0);
  EXPECT_CLOSE("masked token_logprobs", logp.narrow(0, 10, 6), want.narrow(0, 9, 6), 1e-4);
  logp.sum().backward();
  auto grad = model->decoder()->embed_tokens->weight.grad();
  ASSERT_TRUE(grad.defined());
  EXPECT_GT(grad.abs().sum().item<double>(), 0.0);
}

TEST(CausalLM, Bf16WithinReferenceStatistics) {
  auto model = test::load_tiny(torch::kBFloat16);
  EXPECT_EQ(model->decoder()->embed_tokens->weight.scalar_type(), torch::kBFloat16);
  torch::NoGradGuard no_grad;
  const auto& ref = tiny_reference();
  const auto& stats = ref["bf16"]["per_sequence"];
  for (size_t i = 0; i < ref["sequences"].size(); ++i) {
    const auto& seq = ref["sequences"][i];
    const auto& want = stats[i];
    auto ids = test::ids_tensor(test::json_ids(seq["input_ids"]));
    auto logits = model->forward(ids).logits.squeeze(0).to(torch::kFloat64);  // [T, V]
    EXPECT_EQ(model->forward(ids).logits.scalar_type(), torch::kBFloat16);
    const int64_t T = logits.size(0);
    auto diff = (logits.narrow(0, T - 4, 4) - test::json_tensor(seq["last4_logits"])).abs();
    // The recorded HF bf16 figures with a margin for a different (equally valid) op order.
    EXPECT_LE(diff.max().item<double>(), 2.0 * want["max_abs_logit_diff"].get<double>() + 0.05);
    EXPECT_LE(diff.mean().item<double>(), 2.0 * want["mean_abs_logit_diff"].get<double>() + 0.01);
    auto argmax = logits.argmax(-1);
    auto ref_argmax = torch::tensor(test::json_ids(seq["argmax"]), torch::kInt64);
    double agreement = argmax.eq(ref_argmax).to(torch::kFloat64).mean().item<double>();
    EXPECT_GE(agreement, want["argmax_agreement"].get<double>() - 0.1);
    auto mask = torch::ones_like(ids);
    double logp_sum = model::token_logprobs(model, ids, mask, mask).sum().item<double>();
    EXPECT_NEAR(logp_sum, seq["logprob_sum"].get<double>(),
                3.0 * want["logprob_sum_abs_diff"].get<double>() + 0.1);
  }
}

// Runs rows of different lengths padded on `side` in one batch and compares each with the row
// alone.
void expect_padding_invariant(bool left) {
  auto model = test::load_tiny();
  torch::NoGradGuard no_grad;
  const auto& seqs = tiny_reference()["sequences"];
  std::vector<std::vector<int64_t>> rows;
  for (const auto& s : seqs) rows.push_back(test::json_ids(s["input_ids"]));
  int64_t longest = 0;
  for (const auto& r : rows) longest = std::max<int64_t>(longest, r.size());
  const int64_t B = rows.size();
  auto ids = torch::full({B, longest}, 7, torch::kInt64);
  auto mask = torch::zeros({B, longest}, torch::kInt64);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = rows[b].size(), start = left ? longest - n : 0;
    ids[b].narrow(0, start, n).copy_(torch::tensor(rows[b], torch::kInt64));
    mask[b].narrow(0, start, n).fill_(1);
  }
  model::ForwardOptions options;
  options.attention_mask = mask;
  auto batch_logits = model->forward(ids, options).logits;
  auto batch_logp = model::token_logprobs(model, ids, mask, mask);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = rows[b].size(), start = left ? longest - n : 0;
    auto alone = model->forward(test::ids_tensor(rows[b])).logits.squeeze(0);
    EXPECT_FALSE(batch_logits[b].isnan().any().item<bool>());
    EXPECT_CLOSE(std::string(left ? "left" : "right") + "-padded row " + std::to_string(b),
                 batch_logits[b].narrow(0, start, n), alone, 2e-5);
    auto one = test::ids_tensor(rows[b]);
    auto logp_alone =
        model::token_logprobs(model, one, torch::ones_like(one), torch::ones_like(one));
    EXPECT_CLOSE("padded token_logprobs", batch_logp[b].narrow(0, start, n), logp_alone[0], 2e-5);
  }
}

TEST(CausalLM, LeftPaddedBatchEqualsRowsAlone) { expect_padding_invariant(/*left=*/true); }
TEST(CausalLM, RightPaddedBatchEqualsRowsAlone) { expect_padding_invariant(/*left=*/false); }

TEST(CausalLM, HiddenStatesHaveLayersPlusOneEntries) {
  auto model = test::load_tiny();
  torch::NoGradGuard no_grad;
  auto ids = test::ids_tensor(test::json_ids(tiny_reference()["sequences"][0]["input_ids"]));
  model::ForwardOptions options;
  options.output_hidden_states = true;
  auto out = model->forward(ids, options);
  const auto& config = model->config();
  ASSERT_EQ(out.hidden_states.size(), static_cast<size_t>(config.num_hidden_layers + 1));
  for (const auto& h : out.hidden_states) {
    EXPECT_EQ(h.sizes(), (std::vector<int64_t>{1, ids.size(1), config.hidden_size}));
  }
  // First entry: the embeddings; last: the final-norm output the logits come from.
  EXPECT_TRUE(torch::equal(out.hidden_states.front(), model->decoder()->embed_tokens(ids)));
  EXPECT_TRUE(torch::equal(out.hidden_states.back(), out.hidden));
  EXPECT_CLOSE("logits from hidden", model->lm_head_forward(out.hidden), out.logits, 1e-6);
}

TEST(CausalLM, ParameterNamesAreCheckpointKeys) {
  auto model = test::load_tiny();
  auto weights = io::load_safetensors(test::fixture_path("qwen2-tiny/model.safetensors"));
  std::set<std::string> names;
  int64_t count = 0;
  for (const auto& p : model->named_parameters()) {
    names.insert(p.key());
    count += p.value().numel();
    ASSERT_TRUE(weights.count(p.key())) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), weights.at(p.key()))) << p.key();
  }
  EXPECT_EQ(names.size(), weights.size());
  EXPECT_EQ(count, model->config().num_parameters());
  EXPECT_EQ(model->projections().size(), 7u * model->config().num_hidden_layers);
  EXPECT_EQ(model->projections()[0].first, "model.layers.0.self_attn.q_proj");
}

// Writes a copy of the fixture model with `edit` applied to its weights.
std::string write_edited_model(const std::string& tag,
                               const std::function<void(io::StateDict&)>& edit) {
  auto dir = std::filesystem::path(test::make_temp_dir(tag));
  std::filesystem::copy_file(test::fixture_path("qwen2-tiny/config.json"), dir / "config.json");
  auto weights = io::load_safetensors(test::fixture_path("qwen2-tiny/model.safetensors"));
  io::StateDict copy;
  for (auto& [k, v] : weights) copy[k] = v.clone();
  edit(copy);
  io::write_safetensors(dir / "model.safetensors", copy);
  return dir.string();
}

void expect_load_error(const std::string& dir, const std::string& fragment) {
  try {
    model::load_causal_lm(dir, torch::kFloat32, torch::kCPU);
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(CausalLM, LoadRejectsMissingWrongShapeAndUnexpectedWeights) {
  expect_load_error(
      write_edited_model("missing",
                         [](io::StateDict& w) { w.erase("model.layers.1.mlp.up_proj.weight"); }),
      "missing weight 'model.layers.1.mlp.up_proj.weight'");
  expect_load_error(
      write_edited_model("shape",
                         [](io::StateDict& w) { w["model.norm.weight"] = torch::ones({63}); }),
      "weight 'model.norm.weight' has shape [63]");
  expect_load_error(write_edited_model("unexpected",
                                       [](io::StateDict& w) {
                                         w["model.layers.9.extra.weight"] = torch::ones({2});
                                       }),
                    "unexpected weights the model does not use: model.layers.9.extra.weight");
  auto dir = test::make_temp_dir("noconfig");
  expect_load_error(dir, "config.json");
}

TEST(CausalLM, RejectsTooLongSequencesAndBadIds) {
  auto model = test::load_tiny();
  torch::NoGradGuard no_grad;
  const int64_t max_pos = model->config().max_position_embeddings;
  try {
    model->forward(torch::zeros({1, max_pos + 1}, torch::kInt64));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_position_embeddings (256)"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(model->forward(torch::zeros({1, max_pos}, torch::kInt64)));
  EXPECT_THROW(model->forward(torch::full({1, 3}, 512, torch::kInt64)), Error);
}

TEST(CausalLM, AttentionMaskLetsPaddingRowsSeeOnlyThemselves) {
  auto key_mask = torch::tensor({0, 0, 1, 1}, torch::kInt64).unsqueeze(0);
  auto allowed = model::build_attention_mask(key_mask, 4).squeeze(0).squeeze(0);
  auto want = torch::tensor({1, 0, 0, 0,  //
                             0, 1, 0, 0,  //
                             0, 0, 1, 0,  //
                             0, 0, 1, 1},
                            torch::kBool)
                  .view({4, 4});
  EXPECT_TRUE(torch::equal(allowed, want)) << allowed;
}

TEST(CausalLM, RopeAndItsGradientMatchTheRotateHalfFormula) {
  torch::manual_seed(2);
  auto x = torch::randn({2, 3, 5, 8}).requires_grad_(true);  // [B, H, T, D]
  auto x_ref = x.detach().clone().requires_grad_(true);
  auto cos = torch::randn({2, 5, 8}), sin = torch::randn({2, 5, 8});
  auto got = model::apply_rope(x, cos, sin);
  // HF: x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1]
  auto rotated = torch::cat({-x_ref.narrow(-1, 4, 4), x_ref.narrow(-1, 0, 4)}, -1);
  auto want = x_ref * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
  EXPECT_CLOSE("rope", got, want, 1e-6);
  auto weights = torch::randn(want.sizes());
  (got * weights).sum().backward();
  (want * weights).sum().backward();
  EXPECT_CLOSE("rope gradient", x.grad(), x_ref.grad(), 1e-6);
}

TEST(CausalLM, GroupedAttentionMatchesRepeatedKvHeadsWithEitherMask) {
  torch::manual_seed(4);
  const int64_t B = 2, H = 4, Hkv = 2, T = 5, D = 8;
  auto q = torch::randn({B, H, T, D}), k = torch::randn({B, Hkv, T, D}),
       v = torch::randn({B, Hkv, T, D});
  auto key_mask = torch::tensor({1, 1, 1, 1, 1, 0, 0, 1, 1, 1}, torch::kInt64).view({B, T});
  auto allowed = model::build_attention_mask(key_mask, T);  // [B, 1, T, T]
  // Plain formula: every query head h reads kv head h / (H / Hkv).
  auto k_full = k.repeat_interleave(H / Hkv, 1), v_full = v.repeat_interleave(H / Hkv, 1);
  auto scores = torch::matmul(q, k_full.transpose(-1, -2)) / std::sqrt(double(D));
  scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
  auto want = torch::matmul(torch::softmax(scores, -1), v_full);
  EXPECT_CLOSE("bool mask", model::attention_scores_softmax(q, k, v, allowed), want, 1e-5);
  auto layer_mask = model::attention_mask_for_layers(allowed, torch::kFloat32);
  EXPECT_CLOSE("mask built once for all layers",
               model::attention_scores_softmax(q, k, v, layer_mask), want, 1e-5);
}

TEST(CausalLM, RandomInitModelRunsInBothDtypes) {
  model::ModelConfig config =
      model::ModelConfig::from_file(test::fixture_path("qwen2-tiny/config.json"));
  config.tie_word_embeddings = false;
  model::CausalLM model(config);
  auto ids = torch::randint(0, config.vocab_size, {2, 5}, torch::kInt64);
  auto logits = model->forward(ids).logits;
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 5, config.vocab_size}));
  EXPECT_TRUE(model->lm_head() != nullptr);
  model->to(torch::kBFloat16);
  EXPECT_EQ(model->forward(ids).logits.scalar_type(), torch::kBFloat16);
}

}  // namespace
}  // namespace lethe
