// Membership-inference scores from teacher-forced token log-probs (forget set = members vs holdout
// = non-members). Every score is oriented "higher = more likely a member", so roc_auc applies
// directly. Shapes: B sequences, T scored positions (aligned: logp_token[b, t] = log p(token t |
// tokens < t)), V vocab.
#pragma once
#include <torch/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace lethe::eval {

// Per-position moments of log p under the model's own distribution, for Min-K%++:
// mu = sum_v p_v log p_v, sigma = sqrt(sum_v p_v (log p_v)^2 - mu^2). [B, T, V] logits -> [B, T]
// each.
struct LogprobMoments {
  torch::Tensor mu;
  torch::Tensor sigma;
};
LogprobMoments logprob_moments(const torch::Tensor& logits);

// LOSS attack (Yeom et al. 2018): -mean NLL over masked positions. [B, T], [B, T] bool -> [B]
// float64.
torch::Tensor mia_loss_score(const torch::Tensor& logp_token, const torch::Tensor& mask);

// zlib attack (Carlini et al. 2021; as in Min-K% and open-unlearning): -mean NLL / zlib-compressed
// length in bytes of the UTF-8 text (zlib level 6 = Python's zlib.compress). texts.size() == B.
torch::Tensor mia_zlib_score(const torch::Tensor& logp_token, const torch::Tensor& mask,
                             const std::vector<std::string>& texts);

// Min-K% Prob (Shi et al. 2024): mean of the lowest max(1, floor(k * n)) token log-probs of each
// row.
torch::Tensor mia_min_k_score(const torch::Tensor& logp_token, const torch::Tensor& mask,
                              double k = 0.4);

// Min-K%++ (Zhang et al. 2024): the same over (log p - mu) / sigma (positions with sigma = 0 are
// skipped; a row with no valid position scores 0).
torch::Tensor mia_min_k_plus_plus_score(const torch::Tensor& logp_token, const torch::Tensor& mu,
                                        const torch::Tensor& sigma, const torch::Tensor& mask,
                                        double k = 0.4);

// Min-K% over one row's values (already masked): the library core of the two above.
double mean_lowest_fraction(std::vector<double> values, double k);

// Length in bytes of zlib.compress(text) (default level).
size_t zlib_compressed_size(std::string_view text);

}  // namespace lethe::eval
