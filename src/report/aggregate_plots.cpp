// Charts of a multi-seed aggregate (plots.h build_aggregate_charts): every point is a mean over
// seeds, every band its two-level bootstrap interval.
#include <algorithm>
#include <cmath>
#include <map>

#include "report/aggregate.h"
#include "report/plots.h"

namespace lethe::report {

namespace {

struct Point {
  double epochs;
  eval::Interval value;
};

// method -> points by epochs of one metric of the sweep models.
std::map<std::string, std::vector<Point>> by_method(const json& aggregate, const char* key) {
  std::map<std::string, std::vector<Point>> out;
  if (!aggregate.contains("models") || !aggregate["models"].is_object()) return out;
  for (const auto& [name, entry] : aggregate["models"].items()) {
    const std::string method = entry.value("method", "");
    if (entry.value("intensity", "").empty() || method == "finetuned" || method == "retain_only" ||
        method == "base")
      continue;
    if (!entry.contains("epochs") || !entry["epochs"].is_number()) continue;
    const eval::Interval v = interval_from_json(entry["metrics"].value(key, json::object()));
    if (std::isfinite(v.mean)) out[method].push_back({entry["epochs"].get<double>(), v});
  }
  for (auto& [method, points] : out)
    std::sort(points.begin(), points.end(),
              [](const Point& a, const Point& b) { return a.epochs < b.epochs; });
  return out;
}

Series band_series(const std::string& label, const std::vector<Point>& points, bool from_zero) {
  Series s{label, {}, {}};
  // The fine-tuned model is epoch 0 and, by definition, drops nothing.
  if (from_zero) {
    s.x.push_back(0.0), s.y.push_back(0.0), s.lo.push_back(0.0), s.hi.push_back(0.0);
  }
  for (const auto& p : points) {
    s.x.push_back(p.epochs);
    s.y.push_back(p.value.mean);
    s.lo.push_back(std::isfinite(p.value.lo) ? p.value.lo : p.value.mean);
    s.hi.push_back(std::isfinite(p.value.hi) ? p.value.hi : p.value.mean);
  }
  return s;
}

// Correlated (solid) and other (dashed) per method, one colour per method.
Chart subset_chart(const json& aggregate, const std::string& name, const std::string& title,
                   const std::string& ylabel, const char* key_correlated, const char* key_other,
                   bool from_zero) {
  Chart c(name, title, "epochs", ylabel);
  const auto corr = by_method(aggregate, key_correlated), other = by_method(aggregate, key_other);
  int color = 1;
  for (const auto& [method, points] : corr) {
    const auto it = other.find(method);
    if (it == other.end()) continue;
    Series a = band_series(method + " correlated", points, from_zero);
    Series b = band_series(method + " other", it->second, from_zero);
    a.color = b.color = color++;
    b.dash_type = 2;
    c.series.push_back(a);
    c.series.push_back(b);
  }
  return c;
}

}  // namespace

std::vector<Chart> build_aggregate_charts(const json& aggregate,
                                          std::vector<std::string>* skipped) {
  std::vector<Chart> charts;
  Chart drop =
      subset_chart(aggregate, "retain_drop_ci",
                   "Drop of retain ROUGE-L from the fine-tuned model (mean over seeds, 95% "
                   "bands)",
                   "fine-tuned - model retain ROUGE-L recall", kDropCorrelated, kDropOther, true);
  drop.note =
      "Correlated retain (solid) vs other retain (dashed), from the fine-tuned model at epoch 0; "
      "bands: two-level bootstrap over questions and seeds.";
  Chart level = subset_chart(aggregate, "retain_correlated_vs_other_ci",
                             "Correlated vs other retain ROUGE-L by intensity (mean over seeds, "
                             "95% bands)",
                             "retain ROUGE-L recall", "retain_correlated_rouge_l",
                             "retain_other_rouge_l", false);
  level.note = "Correlated (solid) vs other (dashed) retain ROUGE-L; bands: 95% intervals.";
  for (auto* c : {&drop, &level}) {
    if (c->series.empty())
      skipped->push_back(c->name + ": no sweep models with correlated and other retain values");
    else
      charts.push_back(*c);
  }
  return charts;
}

}  // namespace lethe::report
