// Batched teacher-forced scoring and greedy generation for the evaluator.
#include "eval/evaluator_batching.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/progress.h"
#include "eval/mia.h"
#include "model/generate.h"

namespace lethe::eval {

namespace {

// Indices of `lengths` sorted longest first (stable), so each batch holds similar lengths.
std::vector<size_t> order_by_length(const std::vector<size_t>& lengths) {
  std::vector<size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return lengths[a] > lengths[b]; });
  return order;
}

// Rows of lm_head evaluated at once (bounds the [N, V] fp32 buffer for large vocabularies).
constexpr int64_t kHeadChunk = 256;

}  // namespace

double ScoredSequence::mean_nll() const {
  LETHE_CHECK(!logp.empty(), "mean_nll: no scored token");
  double sum = 0.0;
  for (double v : logp) sum += v;
  return -sum / static_cast<double>(logp.size());
}

std::vector<ScoredSequence> score_requests(model::CausalLM& model,
                                           const std::vector<model::ScoreRequest>& requests,
                                           int64_t batch_size, bool moments,
                                           const std::string& label, BatchStats* stats) {
  LETHE_CHECK(batch_size > 0, "score_requests: batch size must be positive");
  std::vector<ScoredSequence> out(requests.size());
  std::vector<size_t> lengths;
  for (const auto& r : requests) {
    LETHE_CHECK(r.score_from >= 1 && r.score_from < static_cast<int64_t>(r.ids.size()),
                "score_requests: nothing to score (score_from ", r.score_from, ", ", r.ids.size(),
                " tokens)");
    lengths.push_back(r.ids.size());
  }
  const auto order = order_by_length(lengths);
  const torch::Device device = model->parameters().front().device();
  torch::NoGradGuard no_grad;
  core::Progress progress(label, static_cast<int64_t>(requests.size()));
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
    const int64_t B = static_cast<int64_t>(end - start);
    const int64_t T = static_cast<int64_t>(lengths[order[start]]);
    // Right padding: row b holds its tokens at 0..len-1.
    auto ids = torch::zeros({B, T}, torch::kInt64);
    auto mask = torch::zeros({B, T}, torch::kInt64);
    std::vector<int64_t> row_index, pos_index, target;
    for (int64_t b = 0; b < B; ++b) {
      const auto& r = requests[order[start + b]];
      const int64_t n = static_cast<int64_t>(r.ids.size());
      ids[b].narrow(0, 0, n).copy_(torch::tensor(r.ids, torch::kInt64));
      mask[b].narrow(0, 0, n).fill_(1);
      for (int64_t t = r.score_from; t < n; ++t) {
        row_index.push_back(b);
        pos_index.push_back(t - 1);  // hidden at t-1 predicts token t
        target.push_back(r.ids[t]);
      }
      if (stats) stats->forward_tokens += n;
    }
    model::ForwardOptions options;
    options.attention_mask = mask.to(device);
    options.compute_logits = false;
    const auto hidden = model->forward(ids.to(device), options).hidden;  // [B, T, C]
    const auto rows = torch::tensor(row_index, torch::kInt64).to(device);
    const auto cols = torch::tensor(pos_index, torch::kInt64).to(device);
    const auto selected = hidden.index({rows, cols});  // [N, C]
    const auto targets = torch::tensor(target, torch::kInt64).to(device);
    const int64_t N = selected.size(0);
    std::vector<torch::Tensor> logp_parts, match_parts, mu_parts, sigma_parts;
    for (int64_t c = 0; c < N; c += kHeadChunk) {
      const int64_t n = std::min(kHeadChunk, N - c);
      const auto logits = model->lm_head_forward(selected.narrow(0, c, n)).to(torch::kFloat32);
      const auto logp_all = torch::log_softmax(logits, -1);  // [n, V]
      const auto targets_chunk = targets.narrow(0, c, n);
      logp_parts.push_back(logp_all.gather(1, targets_chunk.unsqueeze(1)).squeeze(1));
      match_parts.push_back(logits.argmax(-1).eq(targets_chunk));
      if (moments) {
        const auto m = logprob_moments(logits.unsqueeze(0));  // [1, n] each
        mu_parts.push_back(m.mu.squeeze(0));
        sigma_parts.push_back(m.sigma.squeeze(0));
      }
    }
    const auto to_vec = [](const std::vector<torch::Tensor>& parts) {
      const auto t = torch::cat(parts).to(torch::kCPU, torch::kFloat64).contiguous();
      return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    };
    const auto logp = to_vec(logp_parts);
    const auto match = to_vec(match_parts);
    std::vector<double> mu, sigma;
    if (moments) {
      mu = to_vec(mu_parts);
      sigma = to_vec(sigma_parts);
    }
    size_t k = 0;
    for (int64_t b = 0; b < B; ++b) {
      const auto& r = requests[order[start + b]];
      const size_t n = r.ids.size() - static_cast<size_t>(r.score_from);
      auto& s = out[order[start + b]];
      s.logp.assign(logp.begin() + k, logp.begin() + k + n);
      s.argmax_match.reserve(n);
      for (size_t t = k; t < k + n; ++t) s.argmax_match.push_back(match[t] != 0.0 ? 1 : 0);
      if (moments) {
        s.mu.assign(mu.begin() + k, mu.begin() + k + n);
        s.sigma.assign(sigma.begin() + k, sigma.begin() + k + n);
      }
      k += n;
    }
    progress.update(static_cast<int64_t>(end));
  }
  progress.finish();
  return out;
}

std::vector<std::string> generate_texts(model::CausalLM& model, const text::Tokenizer& tokenizer,
                                        const std::vector<std::vector<int64_t>>& prompts,
                                        const std::vector<int64_t>& eos_token_ids,
                                        int64_t max_new_tokens, int64_t batch_size,
                                        const std::string& label, BatchStats* stats) {
  LETHE_CHECK(batch_size > 0, "generate_texts: batch size must be positive");
  LETHE_CHECK(!eos_token_ids.empty(), "generate_texts: the model declares no eos token");
  std::vector<std::string> out(prompts.size());
  std::vector<size_t> lengths;
  for (const auto& p : prompts) lengths.push_back(p.size());
  const auto order = order_by_length(lengths);
  model::GenerateOptions options;
  options.max_new_tokens = max_new_tokens;
  options.eos_token_ids = eos_token_ids;
  core::Progress progress(label, static_cast<int64_t>(prompts.size()));
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
    std::vector<std::vector<int64_t>> batch;
    for (size_t i = start; i < end; ++i) batch.push_back(prompts[order[i]]);
    const auto result = model::generate(model, batch, options);
    for (size_t i = 0; i < batch.size(); ++i) {
      std::vector<int64_t> tokens;
      for (int64_t id : result.tokens[i]) {
        if (std::find(eos_token_ids.begin(), eos_token_ids.end(), id) != eos_token_ids.end()) break;
        tokens.push_back(id);
      }
      if (stats) {
        stats->generated_tokens += static_cast<int64_t>(result.tokens[i].size());
        stats->prompt_tokens += static_cast<int64_t>(batch[i].size());
      }
      out[order[start + i]] = tokenizer.decode(tokens, /*skip_special=*/true);
    }
    progress.update(static_cast<int64_t>(end));
  }
  progress.finish();
  return out;
}

}  // namespace lethe::eval
