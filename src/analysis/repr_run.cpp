// The repr analysis: states of the fine-tuned reference and each unlearned model, drift, logit
// lens, probe, and the per-layer results files.
#include "analysis/repr_run.h"

#include <filesystem>
#include <iostream>
#include <set>

#include "analysis/hidden_drift.h"
#include "analysis/logit_lens.h"
#include "analysis/mlp_activations.h"
#include "analysis/neuron_change.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/runtime.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "model/decoder_model.h"
#include "model/lora.h"
#include "model/pretrained.h"

namespace lethe::analysis {

namespace fs = std::filesystem;
using json = nlohmann::json;

ReprStates collect_states(model::CausalLM& model, const std::vector<ReprExample>& examples,
                          int64_t batch_size, bool neurons) {
  torch::NoGradGuard no_grad;
  LETHE_CHECK(batch_size > 0, "repr: batch size must be positive");
  const torch::Device device = model->decoder()->embed_tokens->weight.device();
  ReprStates out;
  std::vector<torch::Tensor> question, ranks, probs, neuron_sums;
  std::unique_ptr<MlpActivationRecorder> recorder;
  if (neurons) recorder = std::make_unique<MlpActivationRecorder>(model);
  for (size_t start = 0; start < examples.size(); start += batch_size) {
    const size_t end = std::min(examples.size(), start + size_t(batch_size));
    const int64_t B = int64_t(end - start);
    int64_t T = 0;
    for (size_t i = start; i < end; ++i) T = std::max<int64_t>(T, examples[i].ids.size());
    torch::Tensor ids = torch::zeros({B, T}, torch::kInt64);
    torch::Tensor mask = torch::zeros({B, T}, torch::kInt64);
    torch::Tensor last_q = torch::zeros({B}, torch::kInt64),
                  first_a = torch::zeros({B}, torch::kInt64);
    torch::Tensor answer = torch::zeros({B, T}, torch::kInt64);  // the drift positions
    for (int64_t b = 0; b < B; ++b) {
      const auto& e = examples[start + b];
      LETHE_CHECK(e.answer_start >= 1 && e.answer_start < int64_t(e.ids.size()) &&
                      e.answer_end > e.answer_start && e.answer_end <= int64_t(e.ids.size()),
                  "repr: example ", start + b, " has answer span [", e.answer_start, ", ",
                  e.answer_end, ") outside its ", e.ids.size(), " tokens");
      ids[b].narrow(0, 0, e.ids.size()).copy_(torch::tensor(e.ids, torch::kInt64));
      mask[b].narrow(0, 0, e.ids.size()).fill_(1);
      answer[b].narrow(0, e.answer_start, e.answer_end - e.answer_start).fill_(1);
      last_q[b] = e.answer_start - 1;
      first_a[b] = e.ids[e.answer_start];
    }
    model::ForwardOptions fo;
    fo.attention_mask = mask.to(device);
    fo.output_hidden_states = true;
    fo.compute_logits = false;
    const auto fwd = model->forward(ids.to(device), fo);
    if (recorder) neuron_sums.push_back(recorder->sum_over(answer));  // [B, L, I]
    const auto lens = logit_lens(model, fwd.hidden_states, last_q, first_a);
    ranks.push_back(lens.rank);
    probs.push_back(lens.prob);
    std::vector<torch::Tensor> layers_cpu;
    for (const auto& h : fwd.hidden_states) layers_cpu.push_back(h.to(torch::kFloat32).cpu());
    const torch::Tensor stacked = torch::stack(layers_cpu, 1);  // [B, L+1, T, C]
    for (int64_t b = 0; b < B; ++b) {
      const auto& e = examples[start + b];
      question.push_back(stacked[b].select(1, e.answer_start - 1));  // [L+1, C]
      out.answer_hidden.push_back(
          stacked[b].narrow(1, e.answer_start, e.answer_end - e.answer_start).clone());
    }
  }
  if (!examples.empty()) {
    out.question_hidden = torch::stack(question);
    out.lens_rank = torch::cat(ranks, 1);
    out.lens_prob = torch::cat(probs, 1);
    if (recorder) out.answer_neurons = torch::cat(neuron_sums, 0);
  }
  return out;
}

json drift_json(const ReprStates& states, const ReprStates& reference,
                const std::vector<ReprExample>& examples, bool forget) {
  DriftAccumulator acc;
  for (size_t i = 0; i < examples.size(); ++i) {
    if (examples[i].forget != forget) continue;
    std::vector<torch::Tensor> a, r;
    for (int64_t l = 0; l < states.answer_hidden[i].size(0); ++l) {
      a.push_back(states.answer_hidden[i][l].unsqueeze(0));  // [1, A, C]
      r.push_back(reference.answer_hidden[i][l].unsqueeze(0));
    }
    acc.add(hidden_drift(a, r, torch::ones({1, a[0].size(1)})));
  }
  return {
      {"drift", acc.mean_drift()}, {"cosine", acc.mean_cosine()}, {"positions", acc.positions()}};
}

namespace {

// The mean activation per neuron over the answer positions of the selected examples -> [L, I]
// fp64; positions = how many there were (0: nothing selected, the mean is undefined).
template <typename Keep>
torch::Tensor mean_neurons(const ReprStates& s, const std::vector<ReprExample>& examples, Keep keep,
                           int64_t* positions) {
  std::vector<int64_t> rows;
  *positions = 0;
  for (size_t i = 0; i < examples.size(); ++i)
    if (keep(examples[i])) {
      rows.push_back(int64_t(i));
      *positions += examples[i].answer_end - examples[i].answer_start;
    }
  if (rows.empty()) return {};
  const torch::Tensor sum = s.answer_neurons.index_select(0, torch::tensor(rows, torch::kInt64))
                                .to(torch::kFloat64)
                                .sum(0);  // [L, I]
  return sum / double(*positions);
}

}  // namespace

json neurons_json(const ReprStates& states, const ReprStates& reference,
                  const std::vector<ReprExample>& examples) {
  LETHE_CHECK(states.answer_neurons.defined() && reference.answer_neurons.defined(),
              "repr: neuron activations were not collected");
  LETHE_CHECK(states.answer_neurons.sizes() == reference.answer_neurons.sizes(),
              "repr: neuron activations of shape ", states.answer_neurons.sizes(), " and ",
              reference.answer_neurons.sizes());
  const int64_t L = states.answer_neurons.size(1), I = states.answer_neurons.size(2);
  const int64_t k = top_neuron_count(I);
  std::vector<std::string> layers;
  for (int64_t l = 1; l <= L; ++l) layers.push_back("layer_" + std::to_string(l));
  json out = {{"activation", "silu(gate_proj(x)) * up_proj(x), the input of down_proj"},
              {"pooling", "mean over the answer tokens of each set (the drift positions)"},
              {"layers", layers},
              {"intermediate_size", I},
              {"top_k", k},
              {"chance_overlap", double(k) / double(I)}};
  struct Set {
    const char* name;
    bool (*keep)(const ReprExample&);
  };
  const Set sets[] = {
      {"forget", [](const ReprExample& e) { return e.forget; }},
      {"correlated", [](const ReprExample& e) { return !e.forget && e.correlated; }},
      {"other", [](const ReprExample& e) { return !e.forget && !e.correlated; }}};
  std::vector<LayerNeuronChange> forget;
  for (const Set& set : sets) {
    int64_t positions = 0;
    const torch::Tensor a = mean_neurons(states, examples, set.keep, &positions);
    json j = {{"positions", positions}};
    if (positions > 0) {
      const auto change = neuron_change(a, mean_neurons(reference, examples, set.keep, &positions));
      json top = json::array(), top_change = json::array();
      std::vector<double> share, total;
      for (const auto& c : change) {
        top.push_back(c.top_neurons);
        top_change.push_back(c.top_change);
        share.push_back(c.share_top);
        total.push_back(c.total_change);
      }
      j["share_top1pct"] = share;
      j["total_change"] = total;
      j["top_neurons"] = top;
      j["top_change"] = top_change;
      if (set.name == std::string("forget")) {
        forget = change;
      } else if (!forget.empty()) {
        // This set's |Δ| at the forget set's top neurons against its mean |Δ| over every neuron
        // (the expectation at k neurons drawn at random): ratio > 1 = the same neurons move.
        std::vector<double> overlap;
        json at_top = json::array(), at_random = json::array(), ratio = json::array();
        for (int64_t l = 0; l < L; ++l) {
          overlap.push_back(top_overlap(forget[l].top_neurons, change[l].top_neurons, k));
          const std::optional<double> top = mean_change_at(change[l], forget[l].top_neurons);
          const double random = change[l].total_change / double(I);
          at_top.push_back(top ? json(*top) : json(nullptr));
          at_random.push_back(random);
          ratio.push_back(top && random > 0 ? json(*top / random) : json(nullptr));
        }
        j["overlap_with_forget"] = overlap;
        j["change_at_forget_top"] = at_top;
        j["change_at_random"] = at_random;
        j["change_ratio_forget_top"] = ratio;
      }
    }
    out[set.name] = j;
  }
  return out;
}

int64_t resolve_layer(const std::string& selector, int64_t num_layers) {
  if (selector == "last") return num_layers;
  if (selector == "middle") return num_layers / 2;
  size_t used = 0;
  int64_t index = -1;
  try {
    index = std::stoll(selector, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != selector.size() || selector.empty())
    throw UsageError("unknown layer '" + selector + "' (valid: last, middle, all, or 0.." +
                     std::to_string(num_layers) + ")");
  if (index < 0 || index > num_layers)
    throw UsageError("layer " + selector + " does not exist: the model has hidden states 0.." +
                     std::to_string(num_layers) + " (0 = embeddings)");
  return index;
}

namespace {

std::string folder_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// Logit-lens aggregates over the examples of one set, per layer.
json lens_json(const ReprStates& s, const std::vector<ReprExample>& examples, bool forget) {
  std::vector<int64_t> cols;
  for (size_t i = 0; i < examples.size(); ++i)
    if (examples[i].forget == forget) cols.push_back(int64_t(i));
  if (cols.empty()) return json::object();
  const torch::Tensor idx = torch::tensor(cols, torch::kInt64);
  const torch::Tensor rank = s.lens_rank.index_select(1, idx).to(torch::kFloat64);  // [L+1, n]
  const torch::Tensor prob = s.lens_prob.index_select(1, idx);
  return {{"mean_rank", to_vector(rank.mean(1))},
          {"median_rank", to_vector(std::get<0>(rank.median(1)))},
          {"mean_prob", to_vector(prob.mean(1))},
          {"top1_rate", to_vector((rank == 1).to(torch::kFloat64).mean(1))}};
}

struct ProbeSet {
  std::vector<LinearProbe> probes;  // one per layer
  std::vector<std::string> classes;
};

// Accuracy per layer of the probes on the labelled examples selected by `keep`.
template <typename Keep>
std::vector<double> probe_accuracy(const ProbeSet& p, const ReprStates& s,
                                   const std::vector<ReprExample>& examples, Keep keep) {
  std::vector<int64_t> rows, labels;
  for (size_t i = 0; i < examples.size(); ++i)
    if (examples[i].label >= 0 && keep(i)) {
      rows.push_back(int64_t(i));
      labels.push_back(examples[i].label);
    }
  std::vector<double> acc;
  if (rows.empty()) return acc;
  const torch::Tensor x = s.question_hidden.index_select(0, torch::tensor(rows, torch::kInt64));
  const torch::Tensor y = torch::tensor(labels, torch::kInt64);
  for (size_t l = 0; l < p.probes.size(); ++l)
    acc.push_back(p.probes[l].accuracy(x.select(1, l), y));
  return acc;
}

bool is_heldout(size_t i) { return i % 5 == 4; }

json set_json(const ReprStates& s, const ReprStates* reference, const ProbeSet* probe,
              const std::vector<ReprExample>& examples, bool forget) {
  json j = reference ? drift_json(s, *reference, examples, forget) : json::object();
  j["logit_lens"] = lens_json(s, examples, forget);
  if (probe)
    j["probe_accuracy"] =
        probe_accuracy(*probe, s, examples, [&](size_t i) { return examples[i].forget == forget; });
  return j;
}

// Replaces every per-layer array (under the known per-layer keys) by its element at `layer`.
void select_layer(json& j, int64_t layer, int64_t entries) {
  static const std::set<std::string> keys = {"drift",     "cosine",         "probe_accuracy",
                                             "mean_rank", "median_rank",    "mean_prob",
                                             "top1_rate", "train_accuracy", "heldout_accuracy"};
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (keys.count(it.key()) && it->is_array() && int64_t(it->size()) == entries)
      *it = (*it)[layer];
    else
      select_layer(*it, layer, entries);
  }
}

}  // namespace

json run_repr(const ReprConfig& config) {
  LETHE_CHECK(!config.reference_adapter.empty(),
              "repr: no --reference-adapter (the fine-tuned model)");
  LETHE_CHECK(fs::is_directory(config.reference_adapter), "repr: reference adapter folder ",
              config.reference_adapter, " does not exist");
  LETHE_CHECK(!config.adapters.empty(), "repr: no --adapter (an unlearned model) given");
  LETHE_CHECK(config.names.empty() || config.names.size() == config.adapters.size(),
              "repr: give one --name per --adapter (", config.names.size(), " names, ",
              config.adapters.size(), " adapters)");
  for (const auto& a : config.adapters)
    LETHE_CHECK(fs::is_directory(a), "repr: adapter folder ", a, " does not exist");
  LETHE_CHECK(fs::is_directory(config.data), "repr: dataset folder ", config.data,
              " does not exist");
  const data::Dataset ds = data::load_dataset(config.data);
  auto pretrained = model::load_pretrained(
      config.model, core::parse_dtype(config.dtype, core::parse_device(config.device)),
      core::parse_device(config.device));
  const auto& tok = pretrained.require_tokenizer("lethe repr");
  auto& model = pretrained.model;
  const int64_t L = model->config().num_hidden_layers;
  for (const auto& s : config.layers)  // validated before the slow part
    if (s != "all") resolve_layer(s, L);

  // Probe labels: the incident type of each question's person (facts.jsonl, relation
  // incident_type).
  std::map<std::string, std::string> incident;
  for (const auto& f : ds.facts)
    if (f.relation == "incident_type" && !f.person_id.empty()) incident[f.person_id] = f.value;
  std::set<std::string> class_set;
  for (const auto& [p, v] : incident) class_set.insert(v);
  const std::vector<std::string> classes(class_set.begin(), class_set.end());

  std::vector<ReprExample> examples;
  for (const auto* set : {&ds.sf, &ds.sr}) {
    int64_t taken = 0;
    for (const auto& qa : *set) {
      if (config.limit > 0 && taken >= config.limit) break;
      ++taken;
      const auto enc = tok.encode_qa(qa.question, qa.answer);
      LETHE_CHECK(!enc.answer_ids.empty(), "repr: question ", qa.id, " has an empty answer");
      ReprExample e;
      e.ids = enc.prompt_ids;
      e.ids.insert(e.ids.end(), enc.answer_ids.begin(), enc.answer_ids.end());
      e.answer_start = int64_t(enc.prompt_ids.size());
      // Drift over the answer text (the end-of-turn token excluded when there is more).
      e.answer_end = int64_t(e.ids.size()) - (enc.answer_ids.size() > 1 ? 1 : 0);
      e.forget = set == &ds.sf;
      e.correlated = qa.subset == data::Subset::correlated;
      const auto it = incident.find(qa.person_id);
      if (it != incident.end())
        e.label = std::lower_bound(classes.begin(), classes.end(), it->second) - classes.begin();
      examples.push_back(std::move(e));
    }
  }
  LETHE_CHECK(!examples.empty(), "repr: ", config.data, " has no forget or retain questions");

  std::cerr << "repr: reference " << config.reference_adapter << "\n";
  model::load_adapter(model, config.reference_adapter);
  const ReprStates ref = collect_states(model, examples, config.batch_size, config.neurons);

  // One probe per layer, trained on the reference's last-question-token states (train split).
  json probe_doc;
  std::unique_ptr<ProbeSet> probe;
  std::vector<int64_t> train_rows, train_labels;
  for (size_t i = 0; i < examples.size(); ++i)
    if (examples[i].label >= 0 && !is_heldout(i)) {
      train_rows.push_back(int64_t(i));
      train_labels.push_back(examples[i].label);
    }
  std::set<int64_t> seen_labels(train_labels.begin(), train_labels.end());
  if (classes.size() < 2 || seen_labels.size() < 2) {
    probe_doc = {{"attribute", "incident_type"},
                 {"skipped", "fewer than 2 incident types among the labelled questions"}};
  } else {
    probe = std::make_unique<ProbeSet>();
    probe->classes = classes;
    const torch::Tensor x =
        ref.question_hidden.index_select(0, torch::tensor(train_rows, torch::kInt64));
    const torch::Tensor y = torch::tensor(train_labels, torch::kInt64);
    for (int64_t l = 0; l <= L; ++l) {
      LinearProbe p;
      p.fit(x.select(1, l), y, int64_t(classes.size()), config.probe);
      probe->probes.push_back(std::move(p));
    }
    probe_doc = {{"attribute", "incident_type"},
                 {"classes", classes},
                 {"train_examples", train_rows.size()},
                 {"l2", config.probe.l2},
                 {"train_accuracy",
                  probe_accuracy(*probe, ref, examples, [](size_t i) { return !is_heldout(i); })},
                 {"heldout_accuracy", probe_accuracy(*probe, ref, examples, is_heldout)}};
  }

  json reference = {{"adapter", config.reference_adapter},
                    {"forget", set_json(ref, nullptr, probe.get(), examples, true)},
                    {"retain", set_json(ref, nullptr, probe.get(), examples, false)}};
  json models = json::object();
  for (size_t i = 0; i < config.adapters.size(); ++i) {
    const std::string name =
        config.names.empty() ? folder_name(config.adapters[i]) : config.names[i];
    LETHE_CHECK(!models.contains(name), "repr: two adapters are named '", name, "' (use --name)");
    std::cerr << "repr: " << name << "\n";
    model::load_adapter(model, config.adapters[i]);
    const ReprStates s = collect_states(model, examples, config.batch_size, config.neurons);
    models[name] = {{"adapter", config.adapters[i]},
                    {"forget", set_json(s, &ref, probe.get(), examples, true)},
                    {"retain", set_json(s, &ref, probe.get(), examples, false)}};
    if (config.neurons) models[name]["neurons"] = neurons_json(s, ref, examples);
  }
  model::detach_lora(model);

  std::vector<std::string> layer_names = {"embeddings"};
  for (int64_t l = 1; l <= L; ++l) layer_names.push_back("layer_" + std::to_string(l));
  int64_t n_forget = 0;
  for (const auto& e : examples) n_forget += e.forget ? 1 : 0;
  json doc;
  doc["lethe_version"] = LETHE_VERSION;
  doc["config"] = {{"model", config.model},
                   {"reference_adapter", config.reference_adapter},
                   {"adapters", config.adapters},
                   {"names", config.names},
                   {"data", config.data},
                   {"layers", config.layers},
                   {"dtype", config.dtype},
                   {"device", config.device},
                   {"batch_size", config.batch_size},
                   {"limit", config.limit},
                   {"neurons", config.neurons}};
  json adapter_hashes = {{"reference", core::sha256_tree(config.reference_adapter)}};
  for (const auto& [name, m] : models.items())
    adapter_hashes[name] = core::sha256_tree(m["adapter"].get<std::string>());
  doc["hashes"] = {{"model", core::sha256_tree(pretrained.folder)}, {"adapters", adapter_hashes}};
  doc["num_layers"] = L;
  doc["layer"] = "all";
  doc["layer_names"] = layer_names;
  doc["examples"] = {{"forget", n_forget}, {"retain", int64_t(examples.size()) - n_forget}};
  doc["probe"] = probe_doc;
  doc["reference"] = reference;
  doc["models"] = models;
  if (!config.out.empty()) {
    core::write_json(config.out, doc);
    const fs::path out(config.out);
    for (size_t k = 0; k < config.layers.size(); ++k) {
      if (config.layers[k] == "all") continue;
      const int64_t layer = resolve_layer(config.layers[k], L);
      json one = doc;
      select_layer(one, layer, L + 1);
      one["layer"] = config.layers[k];
      one["layer_index"] = layer;
      one["layer_name"] = layer_names[layer];
      const fs::path p = out.parent_path() /
                         (out.stem().string() + "_" + config.layers[k] + out.extension().string());
      core::write_json(p, one);
    }
  }
  return doc;
}

}  // namespace lethe::analysis
