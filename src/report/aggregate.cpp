// The multi-seed aggregate (aggregate.h): per-question values of each seed's eval_results.json
// recomputed into the summary table's metrics on every bootstrap resample.
#include "report/aggregate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "core/json_io.h"
#include "eval/ks_test.h"
#include "eval/results_schema.h"
#include "eval/sign_flip_test.h"
#include "eval/truth_ratio.h"
#include "report/replication.h"
#include "report/results_reader.h"
#include "report/summary_table.h"

namespace lethe::report {

namespace fs = std::filesystem;
namespace k = eval::schema;
using eval::Interval;
using eval::Picks;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The question strata one resample draws from, each independently.
enum Stratum : size_t { kForgetSet = 0, kCorrelatedSet, kOtherSet, kWorldSet, kStrata };

struct Question {
  double rouge = kNaN, ratio = kNaN, prob = kNaN, nll = kNaN;
  std::vector<double> perturbed;  // world set: the normalised probability's perturbed NLLs
};
using ModelRows = std::array<std::vector<Question>, kStrata>;

struct ModelMeta {
  std::string method, intensity;
  std::optional<double> epochs;
};

struct SeedData {
  uint64_t seed = 0;
  std::string folder;
  std::vector<std::string> order;  // model names in file order
  std::map<std::string, ModelRows> models;
  std::map<std::string, ModelMeta> meta;
  std::string finetuned, reference;  // names of the fine-tuned and retain-only models ("" if none)
  std::vector<size_t> sizes;         // questions per stratum
  std::map<std::string, double> drift;  // model -> middle-layer forget drift
  std::map<std::string, double> quant;  // scheme -> mean recovered fraction of forget ROUGE-L
  int64_t middle_layer = -1, num_layers = -1;
};

bool is_sweep(const ModelMeta& m) {
  return !m.intensity.empty() && m.method != "finetuned" && m.method != "retain_only" &&
         m.method != "base";
}

double number_or_nan(const json& row, const char* key) {
  return k::number_at(row, {key}).value_or(kNaN);
}

SeedData read_seed(const SeedRun& s) {
  SeedData d;
  d.seed = s.seed;
  d.folder = s.dir.filename().string();
  const RunResults run = read_run(s.dir);
  LETHE_CHECK(run.eval.is_object(),
              "aggregate: ", (s.dir / "results" / "eval_results.json").string(),
              ": missing or unreadable (the seed's run did not finish its evaluation)");
  for (const auto& m : run.models) {
    d.order.push_back(m.name);
    d.meta[m.name] = {m.method, m.intensity, m.epochs};
    if (m.method == "finetuned") d.finetuned = m.name;
    if (m.method == "retain_only") d.reference = m.name;
    ModelRows rows;
    auto read_set = [&](const char* set, auto&& stratum_of) {
      const json* list = m.per_example ? k::at(*m.per_example, {set}) : nullptr;
      if (!list || !list->is_array()) return;
      for (const auto& row : *list) {
        const int stratum = stratum_of(row);
        if (stratum < 0) continue;
        Question q;
        q.rouge = number_or_nan(row, k::kRougeLRecall);
        q.ratio = number_or_nan(row, k::kTruthRatio);
        q.prob = number_or_nan(row, k::kAnswerProb);
        q.nll = number_or_nan(row, "answer_nll");
        if (const json* p = k::at(row, {"perturbed_nlls"}); p && p->is_array())
          for (const auto& v : *p) q.perturbed.push_back(v.is_number() ? v.get<double>() : kNaN);
        rows[static_cast<size_t>(stratum)].push_back(std::move(q));
      }
    };
    read_set(k::kForget, [](const json&) { return int(kForgetSet); });
    read_set(k::kRetain, [](const json& row) {
      const std::string subset = row.value("subset", "");
      return subset == "correlated" ? int(kCorrelatedSet) : subset == "other" ? int(kOtherSet) : -1;
    });
    read_set(k::kWorld, [](const json&) { return int(kWorldSet); });
    std::vector<size_t> sizes;
    for (const auto& set : rows) sizes.push_back(set.size());
    // Every model of a seed answers the same questions: one resample must mean the same ones.
    if (d.sizes.empty())
      d.sizes = sizes;
    else
      LETHE_CHECK(sizes == d.sizes, "aggregate: ", d.folder, ": model '", m.name,
                  "' has per-question rows for other questions than '", d.order.front(), "'");
    d.models[m.name] = std::move(rows);
  }
  if (d.sizes.empty()) d.sizes.assign(kStrata, 0);

  // Middle-layer drift of the forget answers (the study's "layer 14 of 28": hidden-state index
  // num_layers / 2, as `lethe repr --layer middle` picks it).
  if (run.repr.is_object()) {
    if (auto L = k::number_at(run.repr, {"num_layers"})) {
      d.num_layers = static_cast<int64_t>(*L);
      d.middle_layer = d.num_layers / 2;
      if (const json* models = k::at(run.repr, {"models"}); models && models->is_object())
        for (const auto& [name, entry] : models->items()) {
          const json* drift = k::at(entry, {k::kForget, "drift"});
          if (drift && drift->is_array() && int64_t(drift->size()) > d.middle_layer &&
              (*drift)[size_t(d.middle_layer)].is_number())
            d.drift[name] = (*drift)[size_t(d.middle_layer)].get<double>();
        }
    }
  }
  // Quantization: per scheme, the mean over the quantized unlearned models of the fraction of the
  // forget ROUGE-L lost to unlearning that quantization gives back.
  if (run.quantize.is_object()) {
    std::map<std::string, std::pair<double, int>> sums;
    for (const auto& r : k::quant_recoveries(run.quantize, k::kRougeLRecall))
      if (r.recovered_fraction && std::isfinite(*r.recovered_fraction))
        sums[r.scheme].first += *r.recovered_fraction, ++sums[r.scheme].second;
    for (const auto& [scheme, s] : sums) d.quant[scheme] = s.first / s.second;
  }
  return d;
}

// Means over the picked questions of one stratum; NaN when a picked value is NaN or none is picked.
template <typename Get>
double mean_over(const std::vector<Question>& set, const std::vector<size_t>& picks, Get get) {
  if (picks.empty()) return kNaN;
  double sum = 0.0;
  for (size_t i : picks) sum += get(set[i]);
  return sum / static_cast<double>(picks.size());
}

std::optional<double> truth_ratio_of(const std::vector<const Question*>& qs,
                                     eval::TruthRatioMode mode) {
  std::vector<double> r;
  for (const auto* q : qs) {
    if (!std::isfinite(q->ratio)) return std::nullopt;
    r.push_back(q->ratio);
  }
  if (r.empty()) return std::nullopt;
  return eval::truth_ratio_aggregate(r, mode);
}

std::vector<const Question*> picked(const std::vector<Question>& set,
                                    const std::vector<size_t>& picks) {
  std::vector<const Question*> out;
  for (size_t i : picks) out.push_back(&set[i]);
  return out;
}

// The summary table's metrics (SummaryColumn order) of one model on the picked questions, as the
// evaluator computes them from the same per-question values (metrics_tofu.cpp).
std::vector<double> headline(const ModelRows& m, const ModelRows* reference, const Picks& p) {
  const auto rouge = [](const Question& q) { return q.rouge; };
  std::vector<double> v(7, kNaN);
  v[0] = mean_over(m[kCorrelatedSet], p[kCorrelatedSet], rouge);
  v[1] = mean_over(m[kOtherSet], p[kOtherSet], rouge);
  v[2] = v[1] - v[0];
  v[3] = mean_over(m[kForgetSet], p[kForgetSet], rouge);
  const auto forget = picked(m[kForgetSet], p[kForgetSet]);
  v[4] = truth_ratio_of(forget, eval::TruthRatioMode::kForget).value_or(kNaN);
  if (reference && !forget.empty()) {
    std::vector<double> a, b;
    for (size_t i : p[kForgetSet])
      a.push_back(m[kForgetSet][i].ratio), b.push_back((*reference)[kForgetSet][i].ratio);
    const auto finite = [](const std::vector<double>& x) {
      return std::all_of(x.begin(), x.end(), [](double y) { return std::isfinite(y); });
    };
    if (finite(a) && finite(b)) v[5] = eval::ks_2samp(a, b).pvalue;
  }
  // Model utility: the harmonic mean of retain {prob, ROUGE-L, truth ratio} and world {normalised
  // prob, ROUGE-L, truth ratio} (metrics_tofu.cpp model_utility_metric).
  std::vector<const Question*> retain = picked(m[kCorrelatedSet], p[kCorrelatedSet]);
  for (const auto* q : picked(m[kOtherSet], p[kOtherSet])) retain.push_back(q);
  const auto world = picked(m[kWorldSet], p[kWorldSet]);
  if (!retain.empty() && !world.empty()) {
    double retain_prob = 0, retain_rouge = 0, world_prob = 0, world_rouge = 0;
    for (const auto* q : retain) retain_prob += q->prob, retain_rouge += q->rouge;
    for (const auto* q : world) {
      world_prob += q->perturbed.empty()
                        ? eval::answer_probability(q->nll)
                        : eval::normalized_answer_probability(q->nll, q->perturbed);
      world_rouge += q->rouge;
    }
    const double nr = static_cast<double>(retain.size()), nw = static_cast<double>(world.size());
    const auto tr_retain = truth_ratio_of(retain, eval::TruthRatioMode::kRetain);
    const auto tr_world = truth_ratio_of(world, eval::TruthRatioMode::kRetain);
    std::vector<double> parts = {retain_prob / nr, retain_rouge / nr, tr_retain.value_or(kNaN),
                                 world_prob / nw,  world_rouge / nw,  tr_world.value_or(kNaN)};
    if (std::all_of(parts.begin(), parts.end(),
                    [](double x) { return std::isfinite(x) && x >= 0; }))
      v[6] = eval::model_utility(parts);
  }
  return v;
}

// Where each quantity sits in the statistic's value vector.
struct Layout {
  std::vector<std::string> models;      // union over seeds, first seed's order first
  std::vector<std::string> model_keys;  // per-model metric keys
  std::vector<std::pair<std::string, double>> intensities;  // sweep labels by epochs
  std::string light, medium, heavy;  // "" when the sweep has fewer than 3 intensities
  std::vector<std::string> schemes;
  size_t n_values = 0;
  size_t model_at(size_t m, size_t key) const { return m * model_keys.size() + key; }
  size_t intensity_at(size_t i) const { return models.size() * model_keys.size() + i; }
  size_t shape_at(size_t which) const { return intensity_at(intensities.size()) + which; }  // 0, 1
  size_t drift_at() const { return shape_at(2); }
  size_t scheme_at(size_t s) const { return drift_at() + 1 + s; }
};

double mean_finite(const std::vector<double>& xs) {
  double sum = 0;
  int n = 0;
  for (double x : xs)
    if (std::isfinite(x)) sum += x, ++n;
  return n ? sum / n : kNaN;
}

std::vector<double> seed_values(const SeedData& d, const Layout& L, const Picks& picks) {
  std::vector<double> v(L.n_values, kNaN);
  const ModelRows* reference = d.reference.empty() ? nullptr : &d.models.at(d.reference);
  std::map<std::string, std::vector<double>> values;
  for (const auto& [name, rows] : d.models) values[name] = headline(rows, reference, picks);
  const std::vector<double>* ft = d.finetuned.empty() ? nullptr : &values[d.finetuned];
  std::map<std::string, std::vector<double>> gaps_by_label;
  for (size_t m = 0; m < L.models.size(); ++m) {
    const auto it = values.find(L.models[m]);
    if (it == values.end()) continue;
    const auto& h = it->second;
    for (size_t key = 0; key < h.size(); ++key) v[L.model_at(m, key)] = h[key];
    if (ft) {
      const double drop_corr = (*ft)[0] - h[0], drop_other = (*ft)[1] - h[1];
      v[L.model_at(m, 7)] = drop_corr;
      v[L.model_at(m, 8)] = drop_other;
      v[L.model_at(m, 9)] = drop_corr - drop_other;
      const ModelMeta& meta = d.meta.at(L.models[m]);
      if (is_sweep(meta)) gaps_by_label[meta.intensity].push_back(drop_corr - drop_other);
    }
    if (auto dr = d.drift.find(L.models[m]); dr != d.drift.end()) v[L.model_at(m, 10)] = dr->second;
  }
  std::map<std::string, double> pooled;
  for (size_t i = 0; i < L.intensities.size(); ++i) {
    pooled[L.intensities[i].first] = mean_finite(gaps_by_label[L.intensities[i].first]);
    v[L.intensity_at(i)] = pooled[L.intensities[i].first];
  }
  if (!L.medium.empty()) {
    v[L.shape_at(0)] = pooled[L.medium] - pooled[L.light];
    v[L.shape_at(1)] = pooled[L.medium] - pooled[L.heavy];
  }
  // Seed level: the heaviest model of each method.
  std::vector<double> heavy_drift;
  for (const auto& [name, meta] : d.meta)
    if (is_sweep(meta) && meta.intensity == L.heavy && d.drift.count(name))
      heavy_drift.push_back(d.drift.at(name));
  v[L.drift_at()] = mean_finite(heavy_drift);
  for (size_t s = 0; s < L.schemes.size(); ++s)
    if (auto q = d.quant.find(L.schemes[s]); q != d.quant.end()) v[L.scheme_at(s)] = q->second;
  return v;
}

Layout make_layout(const std::vector<SeedData>& seeds) {
  Layout L;
  for (const auto& c : summary_columns()) L.model_keys.push_back(c.key);
  L.model_keys.insert(L.model_keys.end(),
                      {kDropCorrelated, kDropOther, kDropGap, kMiddleLayerDrift});
  std::set<std::string> seen, schemes;
  std::map<std::string, double> epochs;
  for (const auto& d : seeds) {
    for (const auto& name : d.order) {
      if (seen.insert(name).second) L.models.push_back(name);
      const ModelMeta& meta = d.meta.at(name);
      if (is_sweep(meta) && !epochs.count(meta.intensity))
        epochs[meta.intensity] = meta.epochs ? *meta.epochs : intensity_rank(meta.intensity);
    }
    for (const auto& [scheme, value] : d.quant) schemes.insert(scheme);
  }
  for (const auto& e : epochs) L.intensities.emplace_back(e.first, e.second);
  std::stable_sort(L.intensities.begin(), L.intensities.end(),
                   [](auto& a, auto& b) { return a.second < b.second; });
  if (L.intensities.size() >= 3) {
    L.light = L.intensities.front().first;
    L.heavy = L.intensities.back().first;
    L.medium = L.intensities[L.intensities.size() / 2].first;
    for (const auto& [label, e] : L.intensities)
      if (label == "medium") L.medium = label;
  } else if (!L.intensities.empty()) {
    L.heavy = L.intensities.back().first;
  }
  L.schemes.assign(schemes.begin(), schemes.end());
  L.n_values = L.scheme_at(L.schemes.size());
  return L;
}

json per_seed_json(const std::vector<std::vector<double>>& full, size_t at) {
  json out = json::array();
  for (const auto& v : full) out.push_back(std::isfinite(v[at]) ? json(v[at]) : json(nullptr));
  return out;
}

int64_t finite_count(const std::vector<std::vector<double>>& full, size_t at) {
  int64_t n = 0;
  for (const auto& v : full) n += std::isfinite(v[at]);
  return n;
}

json quantity_json(const std::vector<Interval>& ci, const std::vector<std::vector<double>>& full,
                   size_t at, bool questions) {
  json j = interval_json(ci[at]);
  j["n_seeds"] = finite_count(full, at);
  j["per_seed"] = per_seed_json(full, at);
  j["resampled"] = questions ? "questions and seeds" : "seeds";
  return j;
}

json sign_flip_json(const std::vector<double>& d, const std::string& pairs) {
  const auto r = eval::sign_flip_test(d, 0x5167'6E46'6C69'70ULL);
  return {{"pairs", pairs},
          {"n", r.n},
          {"mean_difference", r.mean},
          {"p_value", r.p_value},
          {"exact", r.exact}};
}

}  // namespace

eval::BootstrapOptions default_aggregate_bootstrap() {
  eval::BootstrapOptions o;
  o.replicates = 2000;
  o.level = 0.95;
  o.seed = 0x6C65'7468'65ULL;  // "lethe"
  return o;
}

json interval_json(const Interval& i) {
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
  return {{"mean", num(i.mean)}, {"lo", num(i.lo)}, {"hi", num(i.hi)}};
}

Interval interval_from_json(const json& j) {
  Interval i;
  auto get = [&](const char* key, double& out) {
    if (j.is_object() && j.contains(key) && j[key].is_number()) out = j[key].get<double>();
  };
  get("mean", i.mean);
  get("lo", i.lo);
  get("hi", i.hi);
  return i;
}

json read_aggregate(const fs::path& run_dir) {
  const fs::path file = run_dir / "aggregate.json";
  if (!fs::is_regular_file(file)) return nullptr;
  return core::read_json(file);
}

json build_aggregate(const std::vector<SeedRun>& seed_runs, const eval::BootstrapOptions& options) {
  LETHE_CHECK(!seed_runs.empty(), "aggregate: no seed folders");
  std::vector<SeedData> seeds;
  for (const auto& s : seed_runs) seeds.push_back(read_seed(s));
  const Layout L = make_layout(seeds);

  std::vector<std::vector<size_t>> sizes;
  for (const auto& d : seeds) sizes.push_back(d.sizes);
  const auto stat = [&](size_t s, const Picks& picks) { return seed_values(seeds[s], L, picks); };
  const std::vector<Interval> ci = eval::two_level_bootstrap(sizes, L.n_values, stat, options);
  std::vector<std::vector<double>> full;  // per seed, every quantity on all its questions
  for (size_t s = 0; s < seeds.size(); ++s) {
    Picks all(kStrata);
    for (size_t st = 0; st < kStrata; ++st)
      for (size_t i = 0; i < seeds[s].sizes[st]; ++i) all[st].push_back(i);
    full.push_back(seed_values(seeds[s], L, all));
  }

  json doc = {{"lethe_version", LETHE_VERSION},
              {"seeds", json::array()},
              {"folders", json::array()},
              {"bootstrap",
               {{"replicates", options.replicates},
                {"level", options.level},
                {"rng_seed", options.seed},
                {"procedure",
                 "two-level percentile bootstrap: each replicate draws the seeds with replacement, "
                 "then each drawn seed's forget, correlated, other and world questions with "
                 "replacement (the same draws for every model), recomputes every metric and "
                 "averages it over the drawn seeds; interval = 2.5th..97.5th percentile of the "
                 "replicates; mean = mean over seeds (docs/report.md)"}}}};
  for (const auto& d : seeds) {
    doc["seeds"].push_back(d.seed);
    doc["folders"].push_back(d.folder);
  }
  json models = json::object();
  for (size_t m = 0; m < L.models.size(); ++m) {
    json entry;
    for (const auto& d : seeds)
      if (auto it = d.meta.find(L.models[m]); it != d.meta.end()) {
        entry["method"] = it->second.method;
        entry["intensity"] = it->second.intensity;
        entry["epochs"] = it->second.epochs ? json(*it->second.epochs) : json(nullptr);
        break;
      }
    json metrics = json::object();
    for (size_t key = 0; key < L.model_keys.size(); ++key)
      metrics[L.model_keys[key]] =
          quantity_json(ci, full, L.model_at(m, key), L.model_keys[key] != kMiddleLayerDrift);
    entry["metrics"] = metrics;
    models[L.models[m]] = entry;
  }
  doc["models"] = models;

  json intensities = json::array();
  for (size_t i = 0; i < L.intensities.size(); ++i)
    intensities.push_back({{"label", L.intensities[i].first},
                           {"epochs", L.intensities[i].second},
                           {kDropGap, quantity_json(ci, full, L.intensity_at(i), true)}});
  doc["intensities"] = intensities;
  json shape = {{"light", L.light}, {"medium", L.medium}, {"heavy", L.heavy}};
  if (!L.medium.empty()) {
    shape["medium_minus_light"] = quantity_json(ci, full, L.shape_at(0), true);
    shape["medium_minus_heavy"] = quantity_json(ci, full, L.shape_at(1), true);
  }
  doc["shape"] = shape;
  json seed_level = {
      {"middle_layer", seeds.front().middle_layer},
      {"num_layers", seeds.front().num_layers},
      {"heavy_" + std::string(kMiddleLayerDrift), quantity_json(ci, full, L.drift_at(), false)}};
  json quant = json::object();
  for (size_t s = 0; s < L.schemes.size(); ++s)
    quant[L.schemes[s]] = quantity_json(ci, full, L.scheme_at(s), false);
  seed_level["quant_recovered_fraction"] = quant;
  doc["seed_level"] = seed_level;

  // Sign-flip tests of the drop gap. Correlated and other are different questions, so no pair
  // exists between them inside a seed; what is paired is the two drops of one trained model (same
  // seed, method and intensity, both against that seed's fine-tuned model). One such cell gives one
  // difference drop_correlated - drop_other; the test flips its sign.
  json tests = json::array();
  for (size_t i = 0; i < L.intensities.size(); ++i) {
    const std::string& label = L.intensities[i].first;
    std::vector<double> pooled;
    std::set<std::string> methods;
    for (size_t m = 0; m < L.models.size(); ++m) {
      std::vector<double> cells;
      std::string method;
      for (size_t s = 0; s < seeds.size(); ++s) {
        const auto it = seeds[s].meta.find(L.models[m]);
        if (it == seeds[s].meta.end() || !is_sweep(it->second) || it->second.intensity != label)
          continue;
        method = it->second.method;
        const double d = full[s][L.model_at(m, 9)];
        if (std::isfinite(d)) cells.push_back(d), pooled.push_back(d);
      }
      if (method.empty()) continue;
      methods.insert(method);
      json t = sign_flip_json(cells, "seeds");
      t["method"] = method;
      t["intensity"] = label;
      tests.push_back(t);
    }
    json t = sign_flip_json(pooled, "seeds x methods");
    t["method"] = "all";
    t["intensity"] = label;
    tests.push_back(t);
  }
  doc["gap_tests"] = tests;
  doc["replication"] = replication_json(replication_claims(doc));
  return doc;
}

}  // namespace lethe::report
