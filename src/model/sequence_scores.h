// Batched teacher-forced scoring of many token sequences: per-token log-probs of each sequence's
// scored part (from `score_from` on), batches of similar lengths right-padded, outputs in input
// order.
#pragma once
#include <cstdint>
#include <vector>

#include "model/causal_lm.h"

namespace lethe::model {

struct ScoreRequest {
  std::vector<int64_t> ids;  // the whole sequence (prompt + continuation)
  int64_t score_from = 1;    // first scored position (>= 1): the prompt length, or 1 for all tokens
};

// -> per request, log p(ids[t] | ids[<t]) for t in [score_from, len). No autograd. `batch_tokens`
// bounds the padded tokens per forward.
std::vector<std::vector<double>> score_sequences(CausalLM& model,
                                                 const std::vector<ScoreRequest>& requests,
                                                 int64_t batch_size = 16,
                                                 int64_t batch_tokens = 16384);

}  // namespace lethe::model
