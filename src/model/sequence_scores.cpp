// score_sequences: length-sorted batches through token_logprobs.
#include "model/sequence_scores.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "model/decoder_model.h"

namespace lethe::model {

std::vector<std::vector<double>> score_sequences(CausalLM& model,
                                                 const std::vector<ScoreRequest>& requests,
                                                 int64_t batch_size, int64_t batch_tokens) {
  LETHE_CHECK(batch_size > 0, "batch size must be positive, got ", batch_size);
  torch::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(requests.size());
  for (int64_t i = 0; i < n; ++i) {
    const auto& r = requests[i];
    LETHE_CHECK(r.score_from >= 1 && r.score_from <= static_cast<int64_t>(r.ids.size()), "record ",
                i, ": nothing to score (", r.ids.size(), " tokens, scoring from ", r.score_from,
                ")");
  }
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return requests[a].ids.size() > requests[b].ids.size();
  });
  const torch::Device device = model->decoder()->embed_tokens->weight.device();
  std::vector<std::vector<double>> out(n);
  for (int64_t start = 0; start < n;) {
    // Longest first, so the first row fixes the padded length of the batch.
    const int64_t longest = static_cast<int64_t>(requests[order[start]].ids.size());
    const int64_t rows = std::max<int64_t>(
        1, std::min({batch_size, n - start, batch_tokens / std::max<int64_t>(longest, 1)}));
    auto ids = torch::zeros({rows, longest}, torch::kInt64);
    auto mask = torch::zeros({rows, longest}, torch::kInt64);
    auto loss_mask = torch::zeros({rows, longest}, torch::kInt64);
    for (int64_t r = 0; r < rows; ++r) {
      const auto& req = requests[order[start + r]];
      const int64_t len = static_cast<int64_t>(req.ids.size());
      ids[r].narrow(0, 0, len).copy_(torch::tensor(req.ids, torch::kInt64));
      mask[r].narrow(0, 0, len).fill_(1);
      loss_mask[r].narrow(0, req.score_from, len - req.score_from).fill_(1);
    }
    auto logp = token_logprobs(model, ids.to(device), mask.to(device), loss_mask.to(device))
                    .to(torch::kCPU, torch::kFloat64);  // [rows, longest]
    for (int64_t r = 0; r < rows; ++r) {
      const auto& req = requests[order[start + r]];
      const int64_t len = static_cast<int64_t>(req.ids.size());
      auto row = logp[r].narrow(0, req.score_from, len - req.score_from).contiguous();
      out[order[start + r]].assign(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
    }
    start += rows;
  }
  return out;
}

}  // namespace lethe::model
