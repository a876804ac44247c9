// Relative L2 drift and cosine similarity of hidden states, per layer and position.
#include "analysis/hidden_drift.h"

#include "core/error.h"

namespace lethe::analysis {

PositionDrift hidden_drift(const std::vector<torch::Tensor>& hidden_a,
                           const std::vector<torch::Tensor>& hidden_ref,
                           const torch::Tensor& mask) {
  LETHE_CHECK(!hidden_a.empty() && hidden_a.size() == hidden_ref.size(),
              "hidden_drift: the models have ", hidden_a.size(), " and ", hidden_ref.size(),
              " hidden-state entries");
  const torch::Tensor sel = mask.to(torch::kBool).flatten();  // [B*T]
  std::vector<torch::Tensor> drift, cosine;
  for (size_t l = 0; l < hidden_a.size(); ++l) {
    LETHE_CHECK(hidden_a[l].sizes() == hidden_ref[l].sizes(), "hidden_drift: layer ", l,
                " shapes differ: ", hidden_a[l].sizes(), " vs ", hidden_ref[l].sizes());
    const int64_t C = hidden_a[l].size(-1);
    const torch::Tensor a = hidden_a[l]
                                .detach()
                                .to(torch::kFloat64)
                                .reshape({-1, C})
                                .index({sel.to(hidden_a[l].device())})
                                .cpu();
    const torch::Tensor r = hidden_ref[l]
                                .detach()
                                .to(torch::kFloat64)
                                .reshape({-1, C})
                                .index({sel.to(hidden_ref[l].device())})
                                .cpu();
    const torch::Tensor norm_r = r.norm(2, 1);
    const torch::Tensor norm_a = a.norm(2, 1);
    const double tiny = 1e-30;
    drift.push_back((a - r).norm(2, 1) / norm_r.clamp_min(tiny));
    cosine.push_back((a * r).sum(1) / (norm_a * norm_r).clamp_min(tiny));
  }
  return {torch::stack(drift), torch::stack(cosine)};
}

void DriftAccumulator::add(const PositionDrift& d) {
  if (d.drift.size(1) == 0) return;
  const torch::Tensor s_d = d.drift.sum(1), s_c = d.cosine.sum(1);
  if (!sum_drift_.defined()) {
    sum_drift_ = s_d;
    sum_cos_ = s_c;
  } else {
    LETHE_CHECK(sum_drift_.size(0) == s_d.size(0), "DriftAccumulator: layer count changed");
    sum_drift_ = sum_drift_ + s_d;
    sum_cos_ = sum_cos_ + s_c;
  }
  count_ += d.drift.size(1);
}

namespace {
std::vector<double> mean_of(const torch::Tensor& sum, int64_t count) {
  std::vector<double> out;
  if (!sum.defined() || count == 0) return out;
  const torch::Tensor m = (sum / double(count)).contiguous();
  out.assign(m.data_ptr<double>(), m.data_ptr<double>() + m.numel());
  return out;
}
}  // namespace

std::vector<double> DriftAccumulator::mean_drift() const { return mean_of(sum_drift_, count_); }
std::vector<double> DriftAccumulator::mean_cosine() const { return mean_of(sum_cos_, count_); }

}  // namespace lethe::analysis
