// The relearning attack behind `lethe relearn` (issue 7): fine-tune an unlearned adapter for a few
// steps on (a) a handful of forget QA pairs, (b) correlated retain facts only, (c) unrelated world
// data, and measure after each requested step how much of the forget set comes back (answer
// probability and greedy ROUGE-L recall). Not here: the other robustness tests (quantization).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/batching.h"
#include "model/causal_lm.h"

namespace lethe::train {

// One forget question to score: prompt ids (chat-rendered question), answer ids (+ end of turn).
struct RelearnProbe {
  std::string id;
  std::vector<int64_t> prompt;
  std::vector<int64_t> answer;
  std::string answer_text;  // for ROUGE-L; empty: ROUGE-L on token ids
  bool seen = false;        // one of the relearning examples (set forget)
};

struct RelearnOptions {
  std::vector<int64_t> steps = {10, 25, 50};  // report after these optimizer steps (and at 0)
  double learning_rate = 1e-4;
  int64_t batch_size = 4;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  int64_t max_new_tokens = 32;  // greedy generation for ROUGE-L
  uint64_t seed = 42;           // batch order
  int64_t pad_id = 0;
  std::vector<int64_t> eos_token_ids;
  // Token ids -> text for ROUGE-L; unset: tokens compared as ids.
  std::function<std::string(const std::vector<int64_t>&)> decode;
};

// The forget metrics of the model as it is now.
struct RelearnPoint {
  int64_t step = 0;
  double loss = 0.0;         // mean SFT loss of the last step (0 at step 0)
  double forget_prob = 0.0;  // mean over probes of p(answer | question)^(1/|answer|) (TOFU Prob.)
  double forget_rouge_l = 0.0;  // mean ROUGE-L recall of the greedy answer
  double unseen_prob = 0.0;     // the same over probes not trained on (the attack's real signal)
  double unseen_rouge_l = 0.0;
  int64_t n_unseen = 0;
};

// Fine-tunes the LoRA parameters of `model` (SFT, AdamW, constant LR, batches cycling over a seeded
// shuffle of `train_examples`) up to the largest step, evaluating `probes` at step 0 and at each
// requested step. Throws lethe::Error for no examples, no probes, steps not positive, or no
// adapter.
std::vector<RelearnPoint> relearn_curve(model::CausalLM& model,
                                        const std::vector<data::Example>& train_examples,
                                        const std::vector<RelearnProbe>& probes,
                                        const RelearnOptions& options);

// relearn_results.json content: per step the metrics, and recovery = (metric - at step 0) /
// (reference - at step 0) when a reference (the fine-tuned model's value) is given (> at step 0).
nlohmann::json relearn_results_json(const std::vector<RelearnPoint>& curve,
                                    const nlohmann::json& meta, const RelearnPoint* reference);

struct RelearnConfig {
  std::string model;
  std::string adapter;         // the unlearned PEFT adapter
  std::string finetuned;       // optional: the fine-tuned adapter, for the recovery fraction
  std::string data;            // dataset folder (sf.jsonl, sr.jsonl, world.jsonl)
  std::string set = "forget";  // forget | correlated | unrelated
  int64_t examples = 8;        // relearning examples drawn from the set
  int64_t eval_limit = 0;      // > 0: score only the first N forget questions
  std::string out;
  std::string dtype = "float32";
  std::string device = "cpu";
  int64_t max_length = 512;
  RelearnOptions options;
};

// Loads everything, runs relearn_curve and writes OUT/relearn_results.json (atomically).
nlohmann::json run_relearn(const RelearnConfig& config);

}  // namespace lethe::train
