// Chart construction from the results; every chart is skipped (with a reason) when its data is
// absent.
#include "report/plots.h"

#include <algorithm>
#include <map>
#include <set>

namespace lethe::report {

namespace {

std::optional<double> first_number(const json& v, std::initializer_list<const char*> paths) {
  for (const char* p : paths)
    if (auto x = number_at(v, p)) return x;
  return std::nullopt;
}

std::optional<double> forget_rouge(const ModelInfo& m) {
  return m.aggregates ? number_at(*m.aggregates, "forget/rouge_l_recall") : std::nullopt;
}

bool is_sweep(const ModelInfo& m) {
  return m.method != "finetuned" && m.method != "retain_only" && m.method != "base";
}

// Sweep models grouped by method, each group ordered by intensity (epochs, then label).
std::map<std::string, std::vector<const ModelInfo*>> by_method(const RunResults& run) {
  std::map<std::string, std::vector<const ModelInfo*>> groups;
  for (const auto& m : run.models)
    if (is_sweep(m)) groups[m.method].push_back(&m);
  for (auto& [method, ms] : groups)
    std::stable_sort(ms.begin(), ms.end(), [](const ModelInfo* a, const ModelInfo* b) {
      if (a->epochs && b->epochs) return *a->epochs < *b->epochs;
      return intensity_rank(a->intensity) < intensity_rank(b->intensity);
    });
  return groups;
}

double intensity_x(const ModelInfo& m, size_t index) {
  return m.epochs ? *m.epochs : static_cast<double>(index + 1);
}

const ModelInfo* find_model(const RunResults& run, const std::string& name) {
  for (const auto& m : run.models)
    if (m.name == name) return &m;
  return nullptr;
}

// The model entries of repr_results.json: {"models": {NAME: entry}} or {NAME: entry}.
std::vector<std::pair<std::string, const json*>> repr_entries(const json& repr) {
  std::vector<std::pair<std::string, const json*>> out;
  if (!repr.is_object()) return out;
  const json& models =
      repr.contains("models") && repr["models"].is_object() ? repr["models"] : repr;
  for (const auto& [name, entry] : models.items())
    if (!layer_drift(entry).empty()) out.emplace_back(name, &entry);
  return out;
}

void tradeoff_chart(const RunResults& run, std::vector<Chart>& charts,
                    std::vector<std::string>* skipped) {
  Chart c{"tradeoff_forget_retain",
          "Forget vs retain trade-off across intensities",
          "forget ROUGE-L recall (lower = more forgotten)",
          "retain ROUGE-L recall",
          false,
          {},
          {},
          false,
          {}};
  for (const auto& [method, ms] : by_method(run)) {
    Series s{method, {}, {}};
    for (const auto* m : ms) {
      auto f = forget_rouge(*m);
      auto r = m->aggregates ? number_at(*m->aggregates, "retain/rouge_l_recall") : std::nullopt;
      if (f && r) {
        s.x.push_back(*f);
        s.y.push_back(*r);
      }
    }
    if (!s.x.empty()) c.series.push_back(s);
  }
  for (const auto& m : run.models) {
    if (is_sweep(m)) continue;
    auto f = forget_rouge(m);
    auto r = m.aggregates ? number_at(*m.aggregates, "retain/rouge_l_recall") : std::nullopt;
    if (f && r) c.series.push_back({m.name, {*f}, {*r}});
  }
  c.note =
      "Each line is one method from light to heavy intensity; single points are reference models.";
  if (c.series.empty())
    skipped->push_back("tradeoff_forget_retain: no forget/retain ROUGE-L in eval_results.json");
  else
    charts.push_back(c);
}

void retain_intensity_chart(const RunResults& run, std::vector<Chart>& charts,
                            std::vector<std::string>* skipped) {
  Chart c{"retain_correlated_vs_other",
          "Correlated vs other retain ROUGE-L by intensity",
          "epochs",
          "retain ROUGE-L recall",
          false,
          {},
          {},
          false,
          {}};
  for (const auto& [method, ms] : by_method(run)) {
    Series corr{method + " correlated", {}, {}}, other{method + " other", {}, {}};
    for (size_t i = 0; i < ms.size(); ++i) {
      if (!ms[i]->aggregates) continue;
      auto a = number_at(*ms[i]->aggregates, "retain_correlated/rouge_l_recall");
      auto b = number_at(*ms[i]->aggregates, "retain_other/rouge_l_recall");
      if (a && b) {
        corr.x.push_back(intensity_x(*ms[i], i));
        corr.y.push_back(*a);
        other.x.push_back(intensity_x(*ms[i], i));
        other.y.push_back(*b);
      }
    }
    if (!corr.x.empty()) {
      c.series.push_back(corr);
      c.series.push_back(other);
    }
  }
  c.note =
      "Retain facts about the forgotten subject's neighbours (correlated) vs unrelated facts "
      "(other).";
  if (c.series.empty())
    skipped->push_back(
        "retain_correlated_vs_other: no sweep models with retain_correlated/retain_other");
  else
    charts.push_back(c);
}

void drift_charts(const RunResults& run, std::vector<Chart>& charts,
                  std::vector<std::string>* skipped) {
  const auto entries = repr_entries(run.repr);
  if (entries.empty()) {
    skipped->push_back(
        "layerdrift_by_epoch, layerdrift_by_method: no per-layer drift in repr_results.json");
    return;
  }
  struct Line {
    std::string name, method;
    double epochs;
    std::vector<std::pair<double, double>> drift;
  };
  std::vector<Line> lines;
  for (const auto& [name, entry] : entries) {
    const ModelInfo* m = find_model(run, name);
    auto [method, label] = split_model_name(name);
    Line l{name, m ? m->method : entry->value("method", method), 0, layer_drift(*entry)};
    if (auto e = number_at(*entry, "epochs"))
      l.epochs = *e;
    else if (m && m->epochs)
      l.epochs = *m->epochs;
    else
      l.epochs = intensity_rank(label);
    lines.push_back(l);
  }
  std::map<std::string, int> count;
  for (const auto& l : lines) ++count[l.method];
  const std::string main_method =
      std::max_element(count.begin(), count.end(), [](auto& a, auto& b) {
        return a.second < b.second;
      })->first;
  Chart e{"layerdrift_by_epoch",
          "Layer drift by epoch (" + main_method + ")",
          "layer",
          "relative L2 drift of hidden states",
          false,
          {},
          {},
          false,
          {}};
  std::vector<const Line*> picked;
  for (const auto& l : lines)
    if (l.method == main_method) picked.push_back(&l);
  std::sort(picked.begin(), picked.end(), [](auto* a, auto* b) { return a->epochs < b->epochs; });
  for (const auto* l : picked) {
    Series s{l->name, {}, {}};
    for (auto [x, y] : l->drift) {
      s.x.push_back(x);
      s.y.push_back(y);
    }
    e.series.push_back(s);
  }
  e.note = "Drift of each unlearned model's hidden states from the fine-tuned model, per layer.";
  charts.push_back(e);

  Chart m{"layerdrift_by_method",
          "Layer drift by method (highest intensity)",
          "layer",
          "relative L2 drift of hidden states",
          false,
          {},
          {},
          false,
          {}};
  std::map<std::string, const Line*> heaviest;
  for (const auto& l : lines)
    if (!heaviest.count(l.method) || heaviest[l.method]->epochs < l.epochs) heaviest[l.method] = &l;
  for (const auto& [method, l] : heaviest) {
    Series s{method, {}, {}};
    for (auto [x, y] : l->drift) {
      s.x.push_back(x);
      s.y.push_back(y);
    }
    m.series.push_back(s);
  }
  m.note = "Each method at its highest intensity.";
  charts.push_back(m);
}

struct QuantRow {
  std::string label;
  double before, after;
};

void collect_quant(const json& v, const std::string& path, std::vector<QuantRow>& rows) {
  if (v.is_array()) {
    for (const auto& x : v) {
      std::string label = path;
      if (x.is_object()) {
        for (const char* k : {"model", "scheme"})
          if (x.contains(k) && x[k].is_string())
            label += (label.empty() ? "" : "/") + x[k].get<std::string>();
      }
      collect_quant(x, label, rows);
    }
    return;
  }
  if (!v.is_object()) return;
  if (v.contains("before") && v.contains("after")) {
    auto b = first_number(v["before"],
                          {"forget/rouge_l_recall", "forget_rouge_l", "forget_rouge_l_recall"});
    auto a = first_number(v["after"],
                          {"forget/rouge_l_recall", "forget_rouge_l", "forget_rouge_l_recall"});
    if (b && a) rows.push_back({path.empty() ? "model" : path, *b, *a});
    return;
  }
  // quantize-eval's layout (src/quant/quantize_eval.cpp):
  // SCHEME.recovery.forget_rouge_l_recall.{before,after}
  if (auto b = number_at(v, "recovery/forget_rouge_l_recall/before")) {
    if (auto a = number_at(v, "recovery/forget_rouge_l_recall/after")) {
      rows.push_back({path.empty() ? "model" : path, *b, *a});
      return;
    }
  }
  if (auto b = first_number(v, {"forget_rouge_l_before"})) {
    if (auto a = first_number(v, {"forget_rouge_l_after"})) {
      rows.push_back({path.empty() ? "model" : path, *b, *a});
      return;
    }
  }
  for (const auto& [k, x] : v.items())
    if (k != "config" && k != "hashes" && k != "layers" && k != "per_layer" && k != "full" &&
        k != "aggregates" && k != "summary" && k != "quantization")
      collect_quant(x,
                    path.empty() || k == "models" || k == "schemes" || k == "results"
                        ? (k == "models" || k == "schemes" || k == "results" ? path : k)
                        : path + "/" + k,
                    rows);
}

void quant_chart(const RunResults& run, std::vector<Chart>& charts,
                 std::vector<std::string>* skipped) {
  std::vector<QuantRow> rows;
  collect_quant(run.quantize, "", rows);
  if (rows.empty()) {
    skipped->push_back(
        "quantization_recovery: no before/after forget ROUGE-L in quantize_results.json");
    return;
  }
  Chart c{"quantization_recovery",
          "Forget ROUGE-L before and after quantization",
          "model / scheme",
          "forget ROUGE-L recall",
          true,
          {},
          {{"before (16-bit)", {}, {}}, {"after quantization", {}, {}}},
          false,
          {}};
  for (const auto& r : rows) {
    c.categories.push_back(r.label);
    c.series[0].y.push_back(r.before);
    c.series[1].y.push_back(r.after);
  }
  c.note = "A higher bar after quantization means forgotten answers came back.";
  charts.push_back(c);
}

void relearn_chart(const RunResults& run, std::vector<Chart>& charts,
                   std::vector<std::string>* skipped) {
  Chart c{"relearning_curves",
          "Relearning attack: forget ROUGE-L by fine-tuning step",
          "step",
          "forget ROUGE-L recall",
          false,
          {},
          {},
          false,
          {}};
  for (const auto& [label, r] : run.relearn) {
    if (!r.is_object() || !r.contains("steps") || !r["steps"].is_array()) continue;
    Series s{label, {}, {}};
    for (const auto& p : r["steps"]) {
      auto step = number_at(p, "step");
      auto y = first_number(p, {"forget_rouge_l", "forget_rouge_l_recall"});
      if (step && y) {
        s.x.push_back(*step);
        s.y.push_back(*y);
      }
    }
    if (!s.x.empty()) c.series.push_back(s);
  }
  c.note =
      "Fine-tuning the unlearned model on a few examples; a fast rise means the knowledge was "
      "hidden, not removed.";
  if (c.series.empty())
    skipped->push_back("relearning_curves: no steps in relearn_results*.json");
  else
    charts.push_back(c);
}

void roc_chart(const RunResults& run, std::vector<Chart>& charts,
               std::vector<std::string>* skipped) {
  Chart c{"mia_roc",
          "Membership inference ROC (loss attack: forget = members, holdout = non-members)",
          "false positive rate",
          "true positive rate",
          false,
          {},
          {},
          false,
          {}};
  c.diagonal = true;
  for (const auto& m : run.models) {
    if (!m.per_example || !m.per_example->contains("mia") || !(*m.per_example)["mia"].is_array())
      continue;
    std::vector<double> members, others;
    for (const auto& r : (*m.per_example)["mia"]) {
      auto loss = number_at(r, "loss");
      if (!loss || !r.contains("set")) continue;
      (r["set"] == "forget" ? members : others).push_back(-*loss);
    }
    if (members.empty() || others.empty()) continue;
    Series s{m.name, {}, {}};
    roc_curve(members, others, &s.x, &s.y);
    c.series.push_back(s);
  }
  c.note = "Near the diagonal = the attacker cannot tell forgotten examples from never-seen ones.";
  if (c.series.empty())
    skipped->push_back("mia_roc: no per_example.mia losses in eval_results.json");
  else
    charts.push_back(c);
}

}  // namespace

std::vector<std::pair<double, double>> layer_drift(const json& entry) {
  std::vector<std::pair<double, double>> out;
  if (!entry.is_object()) return out;
  for (const char* key : {"relative_l2", "drift", "l2_drift"}) {
    for (const json* src : {&entry, entry.contains("forget") ? &entry["forget"] : nullptr}) {
      if (!src || !src->contains(key) || !(*src)[key].is_array()) continue;
      const json& a = (*src)[key];
      for (size_t i = 0; i < a.size(); ++i)
        if (a[i].is_number()) out.emplace_back(static_cast<double>(i), a[i].get<double>());
      if (!out.empty()) return out;
    }
  }
  if (entry.contains("layers") && entry["layers"].is_array()) {
    const json& a = entry["layers"];
    for (size_t i = 0; i < a.size(); ++i) {
      auto y = first_number(
          a[i], {"relative_l2", "forget/relative_l2", "drift", "forget/drift", "l2_drift"});
      if (!y) continue;
      out.emplace_back(number_at(a[i], "layer").value_or(static_cast<double>(i)), *y);
    }
  }
  return out;
}

void roc_curve(const std::vector<double>& members, const std::vector<double>& nonmembers,
               std::vector<double>* fpr, std::vector<double>* tpr) {
  std::vector<std::pair<double, int>> all;
  for (double s : members) all.emplace_back(s, 1);
  for (double s : nonmembers) all.emplace_back(s, 0);
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first > b.first; });
  fpr->assign(1, 0.0);
  tpr->assign(1, 0.0);
  double tp = 0, fp = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    (all[i].second ? tp : fp) += 1;
    if (i + 1 < all.size() && all[i + 1].first == all[i].first) continue;
    fpr->push_back(nonmembers.empty() ? 0 : fp / nonmembers.size());
    tpr->push_back(members.empty() ? 0 : tp / members.size());
  }
}

std::vector<Chart> build_charts(const RunResults& run, std::vector<std::string>* skipped) {
  std::vector<Chart> charts;
  drift_charts(run, charts, skipped);
  tradeoff_chart(run, charts, skipped);
  retain_intensity_chart(run, charts, skipped);
  quant_chart(run, charts, skipped);
  relearn_chart(run, charts, skipped);
  roc_chart(run, charts, skipped);
  return charts;
}

}  // namespace lethe::report
