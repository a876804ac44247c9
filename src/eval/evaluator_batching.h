// The evaluator's batched model calls: teacher-forced scoring of many sequences (token log-probs
// and, for Min-K%++, the moments of the model's distribution) and greedy generation cut at the
// end-of-turn token. Shapes: B batch, T tokens, N scored positions, C hidden, V vocab.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/causal_lm.h"
#include "model/sequence_scores.h"
#include "text/tokenizer.h"

namespace lethe::eval {

// Per request, one value per scored position t in [score_from, len): log p(ids[t] | ids[<t]), and
// when moments were asked for, mu / sigma of log p under the model's distribution at that step;
// argmax_match[t] = 1 when the model's most likely token at that step is ids[t] (first maximum on
// ties, as torch.argmax).
struct ScoredSequence {
  std::vector<double> logp;
  std::vector<uint8_t> argmax_match;
  std::vector<double> mu;
  std::vector<double> sigma;
  double mean_nll() const;  // -mean(logp); throws when nothing was scored
};

struct BatchStats {
  int64_t forward_tokens = 0;    // real (unpadded) tokens through the model when scoring
  int64_t generated_tokens = 0;  // new tokens produced by generation
  int64_t prompt_tokens = 0;     // prompt tokens fed to generation
};

// Sorts requests by length, right-pads batches of `batch_size`, runs the trunk once per batch and
// the lm_head only at scored positions. Results in input order; no autograd.
std::vector<ScoredSequence> score_requests(model::CausalLM& model,
                                           const std::vector<model::ScoreRequest>& requests,
                                           int64_t batch_size, bool moments,
                                           const std::string& label, BatchStats* stats);

// Greedy generation of every prompt (batches of `batch_size` prompts of similar length, left
// padding, KV cache), each cut at its first eos id and decoded without special tokens.
std::vector<std::string> generate_texts(model::CausalLM& model, const text::Tokenizer& tokenizer,
                                        const std::vector<std::vector<int64_t>>& prompts,
                                        const std::vector<int64_t>& eos_token_ids,
                                        int64_t max_new_tokens, int64_t batch_size,
                                        const std::string& label, BatchStats* stats);

}  // namespace lethe::eval
