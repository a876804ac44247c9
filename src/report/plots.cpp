// Chart construction from the results; every chart is skipped (with a reason) when its data is
// absent.
#include "report/plots.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "report/training_evals.h"

namespace lethe::report {

namespace {

namespace k = eval::schema;

std::optional<double> first_number(const json& v, std::initializer_list<const char*> paths) {
  for (const char* p : paths)
    if (auto x = number_at(v, p)) return x;
  return std::nullopt;
}

// aggregates.SET.rouge_l_recall of a model, or nullopt.
std::optional<double> rouge_l(const ModelInfo& m, const char* set) {
  return m.aggregates ? k::set_metric(*m.aggregates, set, k::kRougeLRecall) : std::nullopt;
}

std::optional<double> forget_rouge(const ModelInfo& m) { return rouge_l(m, k::kForget); }

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
  Chart c("tradeoff_forget_retain", "Forget vs retain trade-off across intensities",
          "forget ROUGE-L recall (lower = more forgotten)", "retain ROUGE-L recall");
  for (const auto& [method, ms] : by_method(run)) {
    Series s{method, {}, {}};
    for (const auto* m : ms) {
      auto f = forget_rouge(*m);
      auto r = rouge_l(*m, k::kRetain);
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
    auto r = rouge_l(m, k::kRetain);
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
  Chart c("retain_correlated_vs_other", "Correlated vs other retain ROUGE-L by intensity", "epochs",
          "retain ROUGE-L recall");
  for (const auto& [method, ms] : by_method(run)) {
    Series corr{method + " correlated", {}, {}}, other{method + " other", {}, {}};
    for (size_t i = 0; i < ms.size(); ++i) {
      auto a = rouge_l(*ms[i], k::kRetainCorrelated);
      auto b = rouge_l(*ms[i], k::kRetainOther);
      if (a && b) {
        corr.x.push_back(intensity_x(*ms[i], i));
        corr.y.push_back(*a);
        other.x.push_back(intensity_x(*ms[i], i));
        other.y.push_back(*b);
      }
    }
    if (!corr.x.empty()) {
      // One colour per method: solid = correlated, dashed = other.
      corr.color = other.color = static_cast<int>(c.series.size() / 2) + 1;
      other.dash_type = 2;
      c.series.push_back(corr);
      c.series.push_back(other);
    }
  }
  c.note =
      "Retain facts about the forgotten subject's neighbours (correlated, solid) vs unrelated "
      "facts (other, dashed); one colour per method.";
  if (c.series.empty())
    skipped->push_back(
        "retain_correlated_vs_other: no sweep models with retain_correlated/retain_other");
  else
    charts.push_back(c);
}

// The intensity curve (issue 19; configs/curve.yaml): how far each subset has fallen from the
// fine-tuned model, starting at it (epoch 0, drop 0), so the shape shows whether the correlated
// retain facts fall faster than the other ones, where the gap peaks and whether both collapse.
void drop_curve_chart(const RunResults& run, std::vector<Chart>& charts,
                      std::vector<std::string>* skipped) {
  Chart c("drop_curve", "Drop from the fine-tuned model by intensity", "epochs",
          "drop in ROUGE-L recall from the fine-tuned model");
  const ModelInfo* finetuned = find_model(run, "finetuned");
  struct Subset {
    const char* key;
    const char* label;
    int dash_type;
  };
  const Subset subsets[] = {{k::kForget, "forget", 3},
                            {k::kRetainCorrelated, "correlated", 1},
                            {k::kRetainOther, "other", 2}};
  if (finetuned) {
    int color = 1;
    for (const auto& [method, ms] : by_method(run)) {
      bool any = false;
      for (const auto& subset : subsets) {
        const auto start = rouge_l(*finetuned, subset.key);
        if (!start) continue;
        Series s{method + " " + subset.label, {0.0}, {0.0}};
        for (size_t i = 0; i < ms.size(); ++i)
          if (auto r = rouge_l(*ms[i], subset.key)) {
            s.x.push_back(intensity_x(*ms[i], i));
            s.y.push_back(*start - *r);
          }
        if (s.x.size() < 2) continue;
        s.color = color;
        s.dash_type = subset.dash_type;
        c.series.push_back(s);
        any = true;
      }
      if (any) ++color;
    }
  }
  c.note =
      "ROUGE-L of the fine-tuned model minus that of each unlearned model: forget (dotted), "
      "correlated retain (solid), other retain (dashed); one colour per method. Correlated above "
      "other means the facts next to the forgotten one are damaged more.";
  if (c.series.empty())
    skipped->push_back(
        "drop_curve: needs the finetuned model and sweep models with forget/retain ROUGE-L");
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
  Chart e("layerdrift_by_epoch", "Layer drift by epoch (" + main_method + ")", "layer",
          "relative L2 drift of hidden states");
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
  e.integer_x = true;
  charts.push_back(e);

  Chart m("layerdrift_by_method", "Layer drift by method (highest intensity)", "layer",
          "relative L2 drift of hidden states");
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
  m.integer_x = true;
  charts.push_back(m);
}

// The models of a repr document (repr_results.json or repr_results_<layer>.json) in plot order:
// the fine-tuned reference first (key ""), then by method and intensity.
struct ReprLine {
  std::string label, key;
};

std::vector<ReprLine> repr_lines(const RunResults& run, const json& doc) {
  std::vector<ReprLine> out;
  if (!doc.is_object()) return out;
  if (doc.contains("reference") && doc["reference"].is_object())
    out.push_back({"finetuned (reference)", ""});
  if (!doc.contains("models") || !doc["models"].is_object()) return out;
  struct Keyed {
    std::string method;
    double order;
    std::string name;
  };
  std::vector<Keyed> models;
  for (const auto& [name, entry] : doc["models"].items()) {
    const ModelInfo* m = find_model(run, name);
    auto [method, label] = split_model_name(name);
    Keyed k{m ? m->method : method, static_cast<double>(intensity_rank(label)), name};
    if (m && m->epochs) k.order = *m->epochs;
    models.push_back(k);
  }
  std::stable_sort(models.begin(), models.end(), [](const Keyed& a, const Keyed& b) {
    return std::tie(a.method, a.order, a.name) < std::tie(b.method, b.order, b.name);
  });
  for (const auto& k : models) out.push_back({k.name, k.name});
  return out;
}

const json* repr_entry(const json& doc, const std::string& key) {
  if (key.empty()) return doc.contains("reference") ? &doc["reference"] : nullptr;
  if (!doc.contains("models") || !doc["models"].is_object() || !doc["models"].contains(key))
    return nullptr;
  return &doc["models"][key];
}

// The per-layer array at PATH under an entry, as one series (x = layer index, 0 = embeddings).
Series layer_array(const std::string& label, const json* entry,
                   std::initializer_list<const char*> path) {
  Series s{label, {}, {}};
  const json* at = entry;
  for (const char* k : path) at = at && at->is_object() && at->contains(k) ? &(*at)[k] : nullptr;
  if (!at || !at->is_array()) return s;
  for (size_t l = 0; l < at->size(); ++l)
    if ((*at)[l].is_number()) {
      s.x.push_back(static_cast<double>(l));
      s.y.push_back((*at)[l].get<double>());
    }
  return s;
}

// Logit lens (nostalgebraist 2020) on the forget questions, from repr_results.json.
void logit_lens_charts(const RunResults& run, std::vector<Chart>& charts,
                       std::vector<std::string>* skipped) {
  Chart rank("logit_lens_rank",
             "Logit lens on forget questions: rank of the answer's first token per layer",
             "layer (0 = embeddings)", "median rank (1 = top; log scale)");
  rank.log_y = true;
  Chart prob("logit_lens_prob",
             "Logit lens on forget questions: probability of the answer's first token per layer",
             "layer (0 = embeddings)", "mean probability");
  rank.integer_x = prob.integer_x = true;
  for (const auto& line : repr_lines(run, run.repr)) {
    const json* e = repr_entry(run.repr, line.key);
    Series r = layer_array(line.label, e, {"forget", "logit_lens", "median_rank"});
    if (r.x.empty()) r = layer_array(line.label, e, {"forget", "logit_lens", "mean_rank"});
    if (!r.x.empty()) rank.series.push_back(r);
    Series p = layer_array(line.label, e, {"forget", "logit_lens", "mean_prob"});
    if (!p.x.empty()) prob.series.push_back(p);
  }
  rank.note =
      "Erased: the answer stays far down the ranking at every layer. Suppressed: it rises near "
      "rank 1 in the middle layers, as in the fine-tuned model, and drops only at the last layers.";
  prob.note =
      "A bump in the middle layers that is gone at the output means the answer is suppressed, not "
      "erased; a flat line near 0 at every layer means it is no longer computed.";
  for (Chart* c : {&rank, &prob}) {
    if (c->series.empty())
      skipped->push_back(c->name + ": no forget logit_lens per layer in repr_results.json");
    else
      charts.push_back(*c);
  }
}

// Linear probe accuracy (incident type) on forget questions: per layer, and per model at the
// layers of the repr_results_<layer>.json files.
void probe_charts(const RunResults& run, std::vector<Chart>& charts,
                  std::vector<std::string>* skipped) {
  const json* probe =
      run.repr.is_object() && run.repr.contains("probe") ? &run.repr["probe"] : nullptr;
  std::optional<double> chance;
  if (probe && probe->contains("classes") && (*probe)["classes"].is_array() &&
      !(*probe)["classes"].empty())
    chance = 1.0 / static_cast<double>((*probe)["classes"].size());
  const std::string attribute =
      probe && probe->contains("attribute") && (*probe)["attribute"].is_string()
          ? (*probe)["attribute"].get<std::string>()
          : std::string("attribute");

  Chart layers("probe_accuracy_by_layer",
               "Linear probe (" + attribute + ") on forget questions, per layer",
               "layer (0 = embeddings)", "probe accuracy");
  layers.yrange = "[0:1.05]";
  layers.integer_x = true;
  size_t entries = 0;
  for (const auto& line : repr_lines(run, run.repr)) {
    Series s =
        layer_array(line.label, repr_entry(run.repr, line.key), {"forget", "probe_accuracy"});
    entries = std::max(entries, s.x.size());
    if (!s.x.empty()) layers.series.push_back(s);
  }
  if (!layers.series.empty()) {
    Series held = layer_array("finetuned held-out questions", probe, {"heldout_accuracy"});
    held.dashed = true;
    if (!held.x.empty()) layers.series.push_back(held);
    if (chance) {
      Series c{"chance", {}, {}};
      c.dashed = true;
      for (size_t l = 0; l < entries; ++l) {
        c.x.push_back(static_cast<double>(l));
        c.y.push_back(*chance);
      }
      layers.series.push_back(c);
    }
  }
  layers.note =
      "A probe trained on the fine-tuned model: still near the fine-tuned line after unlearning = "
      "the fact is still readable inside (suppressed); down at chance = erased from the states.";
  if (layers.series.empty()) {
    std::string why = "no forget probe_accuracy per layer in repr_results.json";
    if (probe && probe->contains("skipped") && (*probe)["skipped"].is_string())
      why += " (probe skipped: " + (*probe)["skipped"].get<std::string>() + ")";
    skipped->push_back("probe_accuracy_by_layer: " + why);
  } else {
    charts.push_back(layers);
  }

  // One bar series per layer file (sorted by layer index); without them, the last layer of
  // repr_results.json.
  struct LayerDoc {
    std::string label;
    const json* doc;
    bool full;  // per-layer arrays: take the last entry
  };
  std::vector<LayerDoc> docs;
  for (const auto& [selector, doc] : run.repr_layers) {
    std::string label = selector;
    if (doc.is_object() && doc.contains("layer_name") && doc["layer_name"].is_string())
      label += " (" + doc["layer_name"].get<std::string>() + ")";
    docs.push_back({label, &doc, false});
  }
  if (docs.empty() && run.repr.is_object()) {
    std::string label = "last";
    if (run.repr.contains("layer_names") && run.repr["layer_names"].is_array() &&
        !run.repr["layer_names"].empty() && run.repr["layer_names"].back().is_string())
      label += " (" + run.repr["layer_names"].back().get<std::string>() + ")";
    docs.push_back({label, &run.repr, true});
  }
  Chart bars("probe_accuracy_by_model",
             "Linear probe (" + attribute + ") on forget questions, per model", "model",
             "probe accuracy");
  bars.bars = true;
  bars.yrange = "[0:1.05]";
  if (!docs.empty()) {
    for (const auto& line : repr_lines(run, *docs.front().doc)) bars.categories.push_back(line.key);
    for (const auto& d : docs) bars.series.push_back({d.label, {}, {}});
    bool any = false;
    for (const auto& key : bars.categories)
      for (size_t k = 0; k < docs.size(); ++k) {
        const json* e = repr_entry(*docs[k].doc, key);
        const json* a = e && e->contains("forget") && (*e)["forget"].is_object() &&
                                (*e)["forget"].contains("probe_accuracy")
                            ? &(*e)["forget"]["probe_accuracy"]
                            : nullptr;
        if (a && docs[k].full && a->is_array() && !a->empty()) a = &a->back();
        const bool number = a && a->is_number();
        bars.series[k].y.push_back(number ? a->get<double>() : NAN);
        any |= number;
      }
    for (auto& c : bars.categories)
      if (c.empty()) c = "finetuned (reference)";
    if (!any) bars.series.clear();
  }
  bars.note =
      "Probe accuracy at the selected layers (repr_results_<layer>.json): bars as high as the "
      "fine-tuned model's = still readable inside (suppressed); at chance = erased.";
  if (bars.series.empty())
    skipped->push_back(
        "probe_accuracy_by_model: no forget probe_accuracy in repr_results_<layer>.json or "
        "repr_results.json");
  else
    charts.push_back(bars);
}

// Neuron-level change (analysis/neuron_change.h) from models.NAME.neurons: x = the hidden-state
// index of each MLP layer's output (1..L), as on the other layer charts.
Series neuron_layer_series(const std::string& label, const json& neurons, const char* set,
                           const char* key) {
  Series s{label, {}, {}};
  if (!neurons.contains(set) || !neurons[set].is_object() || !neurons[set].contains(key) ||
      !neurons[set][key].is_array())
    return s;
  const json& a = neurons[set][key];
  for (size_t l = 0; l < a.size(); ++l)
    if (a[l].is_number()) {
      s.x.push_back(static_cast<double>(l + 1));
      s.y.push_back(a[l].get<double>());
    }
  return s;
}

void neuron_charts(const RunResults& run, std::vector<Chart>& charts,
                   std::vector<std::string>* skipped) {
  Chart share("neuron_concentration",
              "Share of the forget-question neuron change carried by the top 1% of MLP neurons",
              "layer", "share of sum |change| in the top 1% of neurons");
  Chart overlap("neuron_overlap",
                "Top-1% changed neurons shared by forget and retain questions, per layer", "layer",
                "overlap of the top 1% with the forget questions'");
  share.integer_x = overlap.integer_x = true;
  share.yrange = overlap.yrange = "[0:1.05]";
  std::optional<double> chance;
  size_t layers = 0;
  int model_index = 0;
  for (const auto& line : repr_lines(run, run.repr)) {
    const json* e = repr_entry(run.repr, line.key);
    if (line.key.empty() || !e || !e->contains("neurons") || !(*e)["neurons"].is_object()) continue;
    const json& n = (*e)["neurons"];
    if (!chance) chance = first_number(n, {"chance_overlap"});
    Series s = neuron_layer_series(line.label, n, "forget", "share_top1pct");
    layers = std::max(layers, s.x.size());
    if (!s.x.empty()) share.series.push_back(s);
    // One colour per model: solid = correlated retain, dashed = other retain.
    const int color = model_index++ % 8 + 1;
    Series corr =
        neuron_layer_series(line.label + " correlated", n, "correlated", "overlap_with_forget");
    Series other = neuron_layer_series(line.label + " other", n, "other", "overlap_with_forget");
    corr.color = other.color = color;
    other.dash_type = 2;
    if (!corr.x.empty()) overlap.series.push_back(corr);
    if (!other.x.empty()) overlap.series.push_back(other);
  }
  // Both references are k / I: the share if every neuron moved equally, the overlap of two
  // random top-k sets.
  if (chance && layers > 0) {
    Series uniform{"every neuron moved equally", {}, {}}, random{"chance (random neurons)", {}, {}};
    for (size_t l = 1; l <= layers; ++l) {
      uniform.x.push_back(static_cast<double>(l));
      uniform.y.push_back(*chance);
    }
    random.x = uniform.x;
    random.y = uniform.y;
    uniform.dashed = random.dashed = true;
    if (!share.series.empty()) share.series.push_back(uniform);
    if (!overlap.series.empty()) overlap.series.push_back(random);
  }
  share.note =
      "Near 1: unlearning moved a few neurons (a localized edit); near the dashed line: the change "
      "is spread over the whole layer. Mean activation per neuron over the answer tokens, "
      "unlearned vs fine-tuned.";
  overlap.note =
      "How many of the forget questions' top-1% neurons are also in the top 1% on correlated "
      "(solid) and other (dashed) retain questions; well above chance = the same neurons move, so "
      "the neighbouring facts are hit by the same edit.";
  for (Chart* c : {&share, &overlap}) {
    if (c->series.empty())
      skipped->push_back(c->name +
                         ": no models.NAME.neurons in repr_results.json (lethe repr --neurons)");
    else
      charts.push_back(*c);
  }
}

void quant_chart(const RunResults& run, std::vector<Chart>& charts,
                 std::vector<std::string>* skipped) {
  // quantize-eval's layout (results_schema.h): models.M.schemes.S.recovery.forget_KEY.
  const auto rows = k::quant_recoveries(run.quantize, k::kRougeLRecall);
  if (rows.empty()) {
    skipped->push_back(
        "quantization_recovery: no before/after forget ROUGE-L in quantize_results.json");
    return;
  }
  Chart c("quantization_recovery", "Forget ROUGE-L before and after quantization", "model / scheme",
          "forget ROUGE-L recall");
  c.bars = true;
  c.series = {{"before (16-bit)", {}, {}}, {"after quantization", {}, {}}};
  for (const auto& r : rows) {
    c.categories.push_back(r.model + "/" + r.scheme);
    c.series[0].y.push_back(r.before);
    c.series[1].y.push_back(r.after);
  }
  c.note = "A higher bar after quantization means forgotten answers came back.";
  charts.push_back(c);
}

void relearn_chart(const RunResults& run, std::vector<Chart>& charts,
                   std::vector<std::string>* skipped) {
  Chart c("relearning_curves", "Relearning attack: forget ROUGE-L by fine-tuning step", "step",
          "forget ROUGE-L recall");
  for (const auto& [label, r] : run.relearn) {
    const json* steps = k::at(r, {k::kSteps});
    if (!steps || !steps->is_array()) continue;
    Series s{label, {}, {}};
    for (const auto& p : *steps) {
      auto step = k::number_at(p, {k::kStep});
      auto y = k::number_at(p, {k::kRelearnForgetRougeL});
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
  Chart c("mia_roc",
          "Membership inference ROC (loss attack: forget = members, holdout = non-members)",
          "false positive rate", "true positive rate");
  c.diagonal = true;
  for (const auto& m : run.models) {
    const json* mia = m.per_example ? k::at(*m.per_example, {k::kMia}) : nullptr;
    if (!mia || !mia->is_array()) continue;
    std::vector<double> members, others;
    for (const auto& r : *mia) {
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

std::vector<std::string> repr_model_order(const RunResults& run, const json& doc) {
  std::vector<std::string> out;
  for (const auto& line : repr_lines(run, doc))
    if (!line.key.empty()) out.push_back(line.key);
  return out;
}

std::vector<Chart> build_charts(const RunResults& run, std::vector<std::string>* skipped) {
  std::vector<Chart> charts;
  drift_charts(run, charts, skipped);
  logit_lens_charts(run, charts, skipped);
  probe_charts(run, charts, skipped);
  neuron_charts(run, charts, skipped);
  tradeoff_chart(run, charts, skipped);
  retain_intensity_chart(run, charts, skipped);
  drop_curve_chart(run, charts, skipped);
  quant_chart(run, charts, skipped);
  relearn_chart(run, charts, skipped);
  roc_chart(run, charts, skipped);
  // Only runs that evaluated during training have it; its absence is not a missing piece.
  if (auto c = training_eval_chart(run)) charts.push_back(*c);
  return charts;
}

}  // namespace lethe::report
