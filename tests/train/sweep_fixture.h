// Shared helpers of the sweep / unlearn / relearn / distributed tests: the fixture model with the
// fixture PEFT adapter (the "fine-tuned" model), random token-id QA examples (no tokenizer) and
// their mean answer log-prob.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/batching.h"
#include "expect_close.h"
#include "model/causal_lm.h"
#include "model/lora.h"
#include "train/unlearn.h"

namespace lethe::test {

inline model::CausalLM finetuned_tiny() {
  auto m = model::load_causal_lm(fixture_path("qwen2-tiny"), torch::kFloat32, torch::kCPU);
  model::load_adapter(m, fixture_path("qwen2-tiny-lora"));
  return m;
}

// `lethe unlearn` on the fixture: the fine-tuned adapter, forget set dir/sf.jsonl, output dir/out.
inline train::UnlearnConfig fixture_unlearn_config(const std::filesystem::path& dir,
                                                   const std::string& method) {
  auto c = train::default_unlearn_config();
  c.model = fixture_path("qwen2-tiny");
  c.adapter = fixture_path("qwen2-tiny-lora");
  c.forget = (dir / "sf.jsonl").string();
  c.out = (dir / "out").string();
  c.train.objective = method;
  return c;
}

inline std::vector<data::Example> token_examples(uint64_t seed, int n) {
  data::SplitMix64 rng(seed);
  std::vector<data::Example> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> prompt(4 + rng.below(4)), answer(2 + rng.below(4));
    for (auto& t : prompt) t = static_cast<int64_t>(rng.below(512));
    for (auto& t : answer) t = static_cast<int64_t>(rng.below(512));
    out.push_back(data::make_example(prompt, answer));
  }
  return out;
}

// Mean summed log-prob of the answers of `examples` under the model as it is (minus the mean NLL).
inline double mean_answer_logp(model::CausalLM& m, const std::vector<data::Example>& examples) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> all(examples.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  auto batch = data::collate(examples, all, 0);
  auto logp = model::token_logprobs(m, batch.ids, batch.attention_mask, batch.loss_mask);
  return logp.sum(1).mean().item<double>();
}

}  // namespace lethe::test
