// Logit lens (nostalgebraist 2020): read every layer's hidden state through the final norm and
// lm_head, and report the rank and probability of a target token (e.g. the first token of a
// forgotten answer). Shapes: B batch, T tokens, C hidden, V vocab, L layers.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/causal_lm.h"

namespace lethe::analysis {

struct LensReading {
  torch::Tensor rank;  // [L+1, B] int64, 1 = the most likely token
  torch::Tensor prob;  // [L+1, B] fp64 softmax probability of the target
};

// hidden_states: the L+1 entries of ForwardOutput (the last one is already final-normed, the
// others get model.norm); positions [B] int64: the position read in each row; targets [B] int64.
LensReading logit_lens(model::CausalLM& model, const std::vector<torch::Tensor>& hidden_states,
                       const torch::Tensor& positions, const torch::Tensor& targets);

}  // namespace lethe::analysis
