// token_logprobs: teacher-forced per-token log-probabilities with the lm_head only at scored
// positions.
#include "core/error.h"
#include "model/causal_lm.h"
#include "model/selected_log_softmax.h"

namespace lethe::model {

torch::Tensor token_logprobs(CausalLM& model, const torch::Tensor& ids,
                             const torch::Tensor& attention_mask, const torch::Tensor& loss_mask,
                             std::vector<torch::Tensor>* hidden_states) {
  LETHE_CHECK(ids.dim() == 2 && loss_mask.sizes() == ids.sizes(), "token_logprobs: loss_mask ",
              loss_mask.sizes(), " must match ids ", ids.sizes());
  const int64_t B = ids.size(0), T = ids.size(1);
  ForwardOptions options;
  options.attention_mask = attention_mask;
  options.compute_logits = false;
  options.output_hidden_states = hidden_states != nullptr;
  ForwardOutput out = model->forward(ids, options);
  if (hidden_states != nullptr) *hidden_states = std::move(out.hidden_states);

  // Position t is predicted from the hidden state at t - 1; position 0 is never scored.
  torch::Tensor scored = loss_mask.to(torch::kBool).clone();  // [B, T]
  scored.select(1, 0).fill_(false);
  torch::Tensor logp_token = torch::zeros({B, T}, out.hidden.options().dtype(torch::kFloat32));
  if (T < 2) return logp_token;
  // A token right after padding (the first real token of a left-padded row) has no context:
  // unscored.
  if (attention_mask.defined()) {
    scored.narrow(1, 1, T - 1).logical_and_(attention_mask.narrow(1, 0, T - 1).to(torch::kBool));
  }
  torch::Tensor predict_from = scored.narrow(1, 1, T - 1);                      // [B, T-1]
  torch::Tensor hidden = out.hidden.narrow(1, 0, T - 1).index({predict_from});  // [N, C]
  torch::Tensor targets = ids.narrow(1, 1, T - 1).index({predict_from});        // [N]
  const int64_t N = hidden.size(0);
  if (N == 0) return logp_token;
  // Bound the [N, V] logits when no graph is kept; training keeps one chunk (the whole batch).
  const int64_t V = model->config().vocab_size;
  const int64_t chunk = torch::GradMode::is_enabled()
                            ? N
                            : std::max<int64_t>(1, (int64_t(1) << 26) / std::max<int64_t>(V, 1));
  std::vector<torch::Tensor> pieces;
  for (int64_t start = 0; start < N; start += chunk) {
    const int64_t n = std::min(chunk, N - start);
    torch::Tensor logits = model->lm_head_forward(hidden.narrow(0, start, n));  // [n, V]
    pieces.push_back(selected_log_softmax(logits, targets.narrow(0, start, n)));
  }
  torch::Tensor values = pieces.size() == 1 ? pieces[0] : torch::cat(pieces);  // [N]
  return logp_token.index_put({scored}, values);
}

}  // namespace lethe::model
