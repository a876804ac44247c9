// A few AdamW steps on the tiny fixture model with its LoRA adapter (the "fine-tuned" model, also
// the reference) move each method's loss and the forget log-probability the right way. A small
// manual loop, not the trainer: the objective is the only thing under test.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "expect_close.h"
#include "model/causal_lm.h"
#include "model/lora.h"
#include "objectives/methods.h"
#include "objectives/objective.h"

namespace lethe::objectives {
namespace {

// B examples of T random tokens; the last `answer` positions carry the loss.
struct Batch {
  torch::Tensor ids;        // [B, T] int64
  torch::Tensor attention;  // [B, T]
  torch::Tensor loss_mask;  // [B, T]
};

Batch random_batch(int64_t batch, int64_t tokens, int64_t answer, uint64_t seed,
                   const torch::Tensor& prompt = {}) {
  auto gen = at::detail::createCPUGenerator(seed);
  Batch b;
  b.ids = torch::randint(0, 512, {batch, tokens}, gen, torch::kLong);
  // Preferred answers share the forget prompts: copy the prompt part.
  if (prompt.defined())
    b.ids.narrow(1, 0, tokens - answer).copy_(prompt.narrow(1, 0, tokens - answer));
  b.attention = torch::ones({batch, tokens});
  b.loss_mask = torch::zeros({batch, tokens});
  b.loss_mask.narrow(1, tokens - answer, answer).fill_(1.0);
  return b;
}

class ObjectiveTraining : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat, torch::kCPU);
    model::load_adapter(model_, test::fixture_path("qwen2-tiny-lora"));
    torch::NoGradGuard no_grad;
    // Forget and retain answers the model "knows" (its greedy continuations, as after fine-tuning);
    // the preferred answers (refusals) are tokens it does not produce.
    forget_ = greedy_answers(random_batch(4, 14, 6, 11));
    retain_ = greedy_answers(random_batch(4, 14, 6, 12));
    preferred_ = random_batch(4, 14, 5, 13, forget_.ids);
    // The reference: the fine-tuned model as loaded, cached once before any update.
    ref_forget_ = logp(forget_);
    ref_retain_ = logp(retain_);
    ref_preferred_ = logp(preferred_);
    std::vector<torch::Tensor> hidden;
    model::token_logprobs(model_, retain_.ids, retain_.attention, retain_.loss_mask, &hidden);
    ref_retain_hidden_ = hidden;
  }

  // Replaces the answer positions with the model's greedy continuation of the prompt.
  Batch greedy_answers(Batch b) {
    const int64_t tokens = b.ids.size(1);
    const int64_t first = tokens - b.loss_mask.sum(1)[0].item<int64_t>();
    for (int64_t t = first; t < tokens; ++t) {
      auto logits = model_->forward(b.ids.narrow(1, 0, t)).logits;  // [B, t, V]
      b.ids.select(1, t).copy_(logits.select(1, t - 1).argmax(-1));
    }
    return b;
  }

  torch::Tensor logp(const Batch& b, std::vector<torch::Tensor>* hidden = nullptr) {
    return model::token_logprobs(model_, b.ids, b.attention, b.loss_mask, hidden);
  }

  SideLogprobs side(const Batch& b, const torch::Tensor& ref_token, bool hidden) {
    SideLogprobs s;
    s.logp_token = logp(b, hidden ? &s.hidden_states : nullptr);
    s.loss_mask = b.loss_mask;
    s.logp_ref_token = ref_token;
    s.logp_ref = ref_token.sum(1);
    return s;
  }

  ObjectiveInputs inputs(bool hidden) {
    ObjectiveInputs in;
    in.forget = side(forget_, ref_forget_, hidden);
    in.retain = side(retain_, ref_retain_, hidden);
    in.retain.hidden_ref = ref_retain_hidden_;
    in.preferred = side(preferred_, ref_preferred_, false);
    return in;
  }

  // Mean sequence log-prob of a batch under the current model.
  double mean_logp(const Batch& b) {
    torch::NoGradGuard no_grad;
    return logp(b).sum(1).mean().item<double>();
  }

  struct Run {
    double loss_before, loss_after;
    double forget_before, forget_after;  // mean sequence log-prob of the forget answers
    double retain_before, retain_after;
    double preferred_before, preferred_after;
    ObjectiveOutput first, last;  // the objective at the first step and after the last one
  };

  // `steps` AdamW steps on the LoRA tensors (only those of `layers` when given).
  Run train(const std::string& method, const ObjectiveParams& params, int steps, double lr,
            const std::vector<int64_t>& layers = {}) {
    const auto& spec = find_objective(method);
    std::vector<torch::Tensor> trainable;
    for (auto& [name, tensor] : model::lora_parameters(model_)) {
      bool keep = layers.empty();
      for (int64_t l : layers)
        keep |= name.find("model.layers." + std::to_string(l) + ".") != std::string::npos;
      if (keep) trainable.push_back(tensor);
    }
    torch::optim::AdamW opt(trainable, torch::optim::AdamWOptions(lr).weight_decay(0.0));
    Run run;
    run.forget_before = mean_logp(forget_);
    run.retain_before = mean_logp(retain_);
    run.preferred_before = mean_logp(preferred_);
    for (int step = 0; step < steps; ++step) {
      auto out = spec.loss(inputs(spec.needs_hidden_states), params);
      if (step == 0) {
        run.loss_before = out.loss.item<double>();
        run.first = out;
      }
      opt.zero_grad();
      out.loss.backward();
      opt.step();
    }
    {
      run.last = spec.loss(inputs(spec.needs_hidden_states), params);
      run.loss_after = run.last.loss.item<double>();
    }
    run.forget_after = mean_logp(forget_);
    run.retain_after = mean_logp(retain_);
    run.preferred_after = mean_logp(preferred_);
    return run;
  }

  model::CausalLM model_{nullptr};
  Batch forget_, retain_, preferred_;
  torch::Tensor ref_forget_, ref_retain_, ref_preferred_;
  std::vector<torch::Tensor> ref_retain_hidden_;
};

TEST_F(ObjectiveTraining, GradAscentLowersTheForgetLogprob) {
  auto r = train("grad_ascent", {}, 6, 5e-3);
  EXPECT_LT(r.loss_after, r.loss_before);
  EXPECT_LT(r.forget_after, r.forget_before - 1.0);
}

TEST_F(ObjectiveTraining, GradDiffForgetsAndKeepsRetainBetterThanGradAscent) {
  auto gd = train("grad_diff", {}, 6, 5e-3);
  EXPECT_LT(gd.loss_after, gd.loss_before);
  EXPECT_LT(gd.forget_after, gd.forget_before - 1.0);
  SetUp();  // the same start for plain GA
  auto ga = train("grad_ascent", {}, 6, 5e-3);
  EXPECT_GT(gd.retain_after, ga.retain_after);
}

TEST_F(ObjectiveTraining, NpoLowersTheForgetLogprobBelowTheReference) {
  auto r = train("npo", {{"beta", 0.1}}, 6, 5e-3);
  EXPECT_LT(r.loss_after, r.loss_before);
  EXPECT_LT(r.forget_after, r.forget_before - 1.0);
  EXPECT_LT(r.last.parts.at("logratio_forget"), -1.0);
}

TEST_F(ObjectiveTraining, SimNpoLowersTheForgetLogprob) {
  auto r = train("simnpo", {{"retain_weight", 0.0}}, 6, 5e-3);
  EXPECT_LT(r.loss_after, r.loss_before);
  EXPECT_LT(r.forget_after, r.forget_before - 1.0);
}

TEST_F(ObjectiveTraining, DpoRaisesRefusalsOverTheTrueAnswers) {
  auto r = train("dpo", {{"beta", 0.5}}, 6, 5e-3);
  EXPECT_LT(r.loss_after, r.loss_before);
  EXPECT_LT(r.forget_after, r.forget_before);
  EXPECT_GT(r.preferred_after - r.forget_after, r.preferred_before - r.forget_before + 1.0);
}

TEST_F(ObjectiveTraining, RmuSteersLayerActivationsTowardTheControlVector) {
  const ObjectiveParams params = {{"layer", 0}, {"steering_coeff", 5.0}, {"alpha", 1.0}};
  auto layers = rmu_updated_layers(resolve_params(find_objective("rmu"), params));
  ASSERT_EQ(layers, std::vector<int64_t>({0}));
  std::map<std::string, torch::Tensor> before;
  for (auto& [name, t] : model::lora_parameters(model_)) before[name] = t.detach().clone();
  auto r = train("rmu", params, 6, 5e-3, layers);
  EXPECT_LT(r.loss_after, r.loss_before);
  EXPECT_LT(r.last.parts.at("loss_forget"), 0.9 * r.first.parts.at("loss_forget"));
  // Only layer 0's adapter moved.
  for (auto& [name, t] : model::lora_parameters(model_)) {
    const bool layer0 = name.find("model.layers.0.") != std::string::npos;
    EXPECT_EQ(torch::equal(t, before.at(name)), !layer0) << name;
  }
}

}  // namespace
}  // namespace lethe::objectives
