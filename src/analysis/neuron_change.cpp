// Top-k neurons by absolute change of their mean activation, concentration and overlap.
#include "analysis/neuron_change.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "core/error.h"

namespace lethe::analysis {

int64_t top_neuron_count(int64_t neurons) {
  LETHE_CHECK(neurons > 0, "top_neuron_count: no neurons");
  return std::max<int64_t>(1, (neurons + 99) / 100);
}

std::vector<LayerNeuronChange> neuron_change(const torch::Tensor& mean_a,
                                             const torch::Tensor& mean_ref) {
  LETHE_CHECK(mean_a.dim() == 2 && mean_a.sizes() == mean_ref.sizes(),
              "neuron_change: mean activations must be [layers, neurons] of the same shape, got ",
              mean_a.sizes(), " and ", mean_ref.sizes());
  const int64_t L = mean_a.size(0), I = mean_a.size(1), k = top_neuron_count(I);
  const torch::Tensor delta =
      (mean_a.to(torch::kFloat64) - mean_ref.to(torch::kFloat64)).abs().cpu().contiguous();
  std::vector<LayerNeuronChange> out(L);
  std::vector<int64_t> order(I);
  for (int64_t l = 0; l < L; ++l) {
    const double* d = delta[l].data_ptr<double>();
    LETHE_CHECK(std::all_of(d, d + I, [](double x) { return std::isfinite(x); }),
                "neuron_change: layer ", l, " has a non-finite activation mean");
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [d](int64_t a, int64_t b) { return d[a] != d[b] ? d[a] > d[b] : a < b; });
    LayerNeuronChange& c = out[l];
    c.total_change = std::accumulate(d, d + I, 0.0);
    double top = 0;
    for (int64_t j = 0; j < k && d[order[j]] > 0; ++j) {
      c.top_neurons.push_back(order[j]);
      c.top_change.push_back(d[order[j]]);
      top += d[order[j]];
    }
    c.share_top = c.total_change > 0 ? top / c.total_change : 0.0;
    c.change.assign(d, d + I);
  }
  return out;
}

std::optional<double> mean_change_at(const LayerNeuronChange& c, const std::vector<int64_t>& ids) {
  if (ids.empty()) return std::nullopt;
  double sum = 0;
  for (int64_t id : ids) {
    LETHE_CHECK(id >= 0 && id < int64_t(c.change.size()), "mean_change_at: neuron ", id,
                " outside 0..", c.change.size() - 1);
    sum += c.change[id];
  }
  return sum / double(ids.size());
}

double top_overlap(const std::vector<int64_t>& a, const std::vector<int64_t>& b, int64_t k) {
  LETHE_CHECK(k > 0, "top_overlap: k must be positive");
  const std::set<int64_t> in_a(a.begin(), a.end());
  int64_t common = 0;
  for (int64_t id : std::set<int64_t>(b.begin(), b.end())) common += in_a.count(id);
  return double(common) / double(k);
}

}  // namespace lethe::analysis
