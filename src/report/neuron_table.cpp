// Rows of the neuron-level table from models.NAME.neurons (layout: docs/robustness.md).
#include "report/neuron_table.h"

#include "report/plots.h"

namespace lethe::report {

namespace {

const json* array_at(const json& n, const char* set, const char* key) {
  if (!n.contains(set) || !n[set].is_object() || !n[set].contains(key) || !n[set][key].is_array() ||
      n[set][key].empty())
    return nullptr;
  return &n[set][key];
}

std::optional<double> last_number(const json* a) {
  if (!a || !a->back().is_number()) return std::nullopt;
  return a->back().get<double>();
}

}  // namespace

NeuronTable neuron_table(const RunResults& run) {
  NeuronTable t;
  if (!run.repr.is_object() || !run.repr.contains("models") || !run.repr["models"].is_object())
    return t;
  for (const auto& name : repr_model_order(run, run.repr)) {
    const json& e = run.repr["models"][name];
    if (!e.is_object() || !e.contains("neurons") || !e["neurons"].is_object()) continue;
    const json& n = e["neurons"];
    NeuronRow r;
    r.model = name;
    const json* share = array_at(n, "forget", "share_top1pct");
    r.share_last = last_number(share);
    if (share) {
      double sum = 0;
      int count = 0;
      for (const auto& v : *share)
        if (v.is_number()) {
          sum += v.get<double>();
          ++count;
        }
      if (count > 0) r.share_mean = sum / count;
      t.layers = std::max<int64_t>(t.layers, static_cast<int64_t>(share->size()));
    }
    r.overlap_correlated = last_number(array_at(n, "correlated", "overlap_with_forget"));
    r.overlap_other = last_number(array_at(n, "other", "overlap_with_forget"));
    r.ratio_correlated = last_number(array_at(n, "correlated", "change_ratio_forget_top"));
    r.ratio_other = last_number(array_at(n, "other", "change_ratio_forget_top"));
    if (const json* top = array_at(n, "forget", "top_neurons"); top && top->back().is_array())
      for (const auto& id : top->back())
        if (id.is_number_integer() && r.top_forget.size() < 5)
          r.top_forget.push_back(id.get<int64_t>());
    if (n.contains("top_k") && n["top_k"].is_number_integer()) t.top_k = n["top_k"].get<int64_t>();
    if (n.contains("intermediate_size") && n["intermediate_size"].is_number_integer())
      t.intermediate_size = n["intermediate_size"].get<int64_t>();
    if (n.contains("chance_overlap") && n["chance_overlap"].is_number())
      t.chance = n["chance_overlap"].get<double>();
    t.rows.push_back(std::move(r));
  }
  return t;
}

}  // namespace lethe::report
