// The logit lens over HF-style hidden states.
#include "analysis/logit_lens.h"

#include "core/error.h"
#include "model/decoder_model.h"

namespace lethe::analysis {

LensReading logit_lens(model::CausalLM& model, const std::vector<torch::Tensor>& hidden_states,
                       const torch::Tensor& positions, const torch::Tensor& targets) {
  torch::NoGradGuard no_grad;
  LETHE_CHECK(!hidden_states.empty(),
              "logit_lens: no hidden states (forward with output_hidden_states)");
  const int64_t B = hidden_states[0].size(0);
  LETHE_CHECK(positions.numel() == B && targets.numel() == B,
              "logit_lens: need one position and "
              "one target per row (",
              B, " rows)");
  const torch::Device device = hidden_states[0].device();
  const torch::Tensor rows =
      torch::arange(B, torch::TensorOptions().dtype(torch::kInt64).device(device));
  const torch::Tensor pos = positions.to(device).to(torch::kInt64);
  const torch::Tensor tgt = targets.to(device).to(torch::kInt64);
  const size_t last = hidden_states.size() - 1;
  std::vector<torch::Tensor> ranks, probs;
  for (size_t l = 0; l < hidden_states.size(); ++l) {
    torch::Tensor h = hidden_states[l].index({rows, pos});  // [B, C]
    if (l != last) h = model->decoder()->norm->forward(h);
    const torch::Tensor logp =
        torch::log_softmax(model->lm_head_forward(h).to(torch::kFloat64), -1);  // [B, V]
    const torch::Tensor t = logp.gather(1, tgt.unsqueeze(1));                   // [B, 1]
    ranks.push_back((logp > t).sum(1) + 1);
    probs.push_back(t.squeeze(1).exp());
  }
  return {torch::stack(ranks).cpu(), torch::stack(probs).cpu()};
}

}  // namespace lethe::analysis
