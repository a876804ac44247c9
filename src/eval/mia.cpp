// LOSS, zlib, Min-K% and Min-K%++ membership scores on [B, T] token log-prob tensors with a mask.
#include "eval/mia.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lethe::eval {

namespace {

void check_pair(const torch::Tensor& logp_token, const torch::Tensor& mask, const char* what) {
  LETHE_CHECK(logp_token.dim() == 2, what, ": logp_token must be [B, T], got ", logp_token.sizes());
  LETHE_CHECK(mask.sizes() == logp_token.sizes(), what, ": mask ", mask.sizes(),
              " must match logp_token ", logp_token.sizes());
}

// The masked values of row b as doubles.
std::vector<double> masked_row(const torch::Tensor& values, const torch::Tensor& mask, int64_t b) {
  auto v = values[b].to(torch::kCPU, torch::kFloat64).contiguous();
  auto m = mask[b].to(torch::kCPU, torch::kBool).contiguous();
  const double* pv = v.data_ptr<double>();
  const bool* pm = m.data_ptr<bool>();
  std::vector<double> out;
  for (int64_t t = 0; t < v.size(0); ++t)
    if (pm[t]) out.push_back(pv[t]);
  return out;
}

double mean_of(const std::vector<double>& values, const char* what, int64_t row) {
  LETHE_CHECK(!values.empty(), what, ": row ", row, " has no scored token");
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

}  // namespace

LogprobMoments logprob_moments(const torch::Tensor& logits) {
  LETHE_CHECK(logits.dim() == 3, "logprob_moments: logits must be [B, T, V], got ", logits.sizes());
  auto logp = torch::log_softmax(logits.to(torch::kFloat64), -1);  // [B, T, V]
  auto p = logp.exp();
  auto mu = (p * logp).sum(-1);                           // [B, T]
  auto second = (p * logp * logp).sum(-1);                // [B, T]
  auto sigma = (second - mu * mu).clamp_min(0.0).sqrt();  // [B, T]
  return {mu, sigma};
}

torch::Tensor mia_loss_score(const torch::Tensor& logp_token, const torch::Tensor& mask) {
  check_pair(logp_token, mask, "mia_loss_score");
  auto scores = torch::empty({logp_token.size(0)}, torch::kFloat64);
  for (int64_t b = 0; b < logp_token.size(0); ++b)
    scores[b] = mean_of(masked_row(logp_token, mask, b), "mia_loss_score", b);
  return scores;
}

size_t zlib_compressed_size(std::string_view text) {
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> buffer(size);
  int rc = compress2(buffer.data(), &size, reinterpret_cast<const Bytef*>(text.data()),
                     static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION);
  LETHE_CHECK(rc == Z_OK, "zlib compress2 failed with code ", rc);
  return size;
}

torch::Tensor mia_zlib_score(const torch::Tensor& logp_token, const torch::Tensor& mask,
                             const std::vector<std::string>& texts) {
  check_pair(logp_token, mask, "mia_zlib_score");
  LETHE_CHECK(static_cast<int64_t>(texts.size()) == logp_token.size(0),
              "mia_zlib_score: ", texts.size(), " texts for ", logp_token.size(0), " rows");
  auto scores = mia_loss_score(logp_token, mask);
  for (int64_t b = 0; b < scores.size(0); ++b)
    scores[b] = scores[b].item<double>() / static_cast<double>(zlib_compressed_size(texts[b]));
  return scores;
}

double mean_lowest_fraction(std::vector<double> values, double k) {
  LETHE_CHECK(k > 0.0 && k <= 1.0, "Min-K%: k must be in (0, 1], got ", k);
  LETHE_CHECK(!values.empty(), "Min-K%: no values");
  auto count = std::max<size_t>(1, static_cast<size_t>(std::floor(k * values.size())));
  std::partial_sort(values.begin(), values.begin() + count, values.end());
  double sum = 0.0;
  for (size_t i = 0; i < count; ++i) sum += values[i];
  return sum / static_cast<double>(count);
}

torch::Tensor mia_min_k_score(const torch::Tensor& logp_token, const torch::Tensor& mask,
                              double k) {
  check_pair(logp_token, mask, "mia_min_k_score");
  auto scores = torch::empty({logp_token.size(0)}, torch::kFloat64);
  for (int64_t b = 0; b < logp_token.size(0); ++b) {
    auto row = masked_row(logp_token, mask, b);
    LETHE_CHECK(!row.empty(), "mia_min_k_score: row ", b, " has no scored token");
    scores[b] = mean_lowest_fraction(std::move(row), k);
  }
  return scores;
}

torch::Tensor mia_min_k_plus_plus_score(const torch::Tensor& logp_token, const torch::Tensor& mu,
                                        const torch::Tensor& sigma, const torch::Tensor& mask,
                                        double k) {
  check_pair(logp_token, mask, "mia_min_k_plus_plus_score");
  LETHE_CHECK(mu.sizes() == logp_token.sizes() && sigma.sizes() == logp_token.sizes(),
              "mia_min_k_plus_plus_score: mu ", mu.sizes(), " and sigma ", sigma.sizes(),
              " must match logp_token ", logp_token.sizes());
  auto sigma64 = sigma.to(torch::kFloat64);
  auto z = (logp_token.to(torch::kFloat64) - mu.to(torch::kFloat64)) / sigma64;  // [B, T]
  auto valid = mask.to(torch::kBool) & (sigma64 > 0);
  auto scores = torch::zeros({logp_token.size(0)}, torch::kFloat64);
  for (int64_t b = 0; b < logp_token.size(0); ++b) {
    auto row = masked_row(z, valid, b);
    if (!row.empty()) scores[b] = mean_lowest_fraction(std::move(row), k);
  }
  return scores;
}

}  // namespace lethe::eval
