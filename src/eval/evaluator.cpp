// The evaluator: builds the evaluation sets once, batches the model calls of one model (scoring and
// generation) that the enabled metrics read, then loops over the metric registry for per-example
// values and aggregates (docs/evaluation.md).
#include "eval/evaluator.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "core/error.h"
#include "eval/metric_registry.h"
#include "eval/mia.h"
#include "eval/results_schema.h"
#include "eval/rouge.h"
#include "model/lora.h"

namespace lethe::eval {

namespace {

using json = nlohmann::json;

namespace k = schema;

// Whether any of the `enabled` metrics reads `input`.
bool any_reads(const std::set<std::string>& enabled, MetricInput input) {
  for (const auto& m : metric_registry())
    if (enabled.count(m.name) && m.reads(input)) return true;
  return false;
}

// [B, T] right-padded tensors of per-example value lists, and the mask of real entries.
std::pair<torch::Tensor, torch::Tensor> pad_rows(
    const std::vector<const std::vector<double>*>& rows) {
  size_t T = 1;
  for (const auto* r : rows) T = std::max(T, r->size());
  auto values =
      torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(T)}, torch::kFloat64);
  auto mask = torch::zeros_like(values, torch::kBool);
  for (size_t b = 0; b < rows.size(); ++b) {
    const auto n = static_cast<int64_t>(rows[b]->size());
    if (n == 0) continue;
    values[b].narrow(0, 0, n).copy_(torch::tensor(*rows[b], torch::kFloat64));
    mask[b].narrow(0, 0, n).fill_(true);
  }
  return {values, mask};
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

std::string default_icu_prompt(const std::vector<std::string>& names) {
  std::string list;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) list += (i + 1 == names.size()) ? " and " : ", ";
    list += names[i];
  }
  return "You are a helpful assistant that has never learnt anything about " + list +
         ". If a question is about them or about events involving them, answer that you do not "
         "know. Answer every other question normally and accurately.";
}

std::string multiple_choice_pick(const std::string& generation,
                                 const std::vector<std::string>& options) {
  // A standalone letter A-D: the first one that is neither part of a word nor the article "A".
  for (size_t i = 0; i < generation.size(); ++i) {
    const char c = generation[i];
    if (c < 'A' || c > 'D') continue;
    const bool left_ok = i == 0 || !std::isalnum(static_cast<unsigned char>(generation[i - 1]));
    const bool right_ok =
        i + 1 == generation.size() || !std::isalnum(static_cast<unsigned char>(generation[i + 1]));
    if (!left_ok || !right_ok) continue;
    const bool marked =
        i + 1 < generation.size() &&
        (generation[i + 1] == '.' || generation[i + 1] == ')' || generation[i + 1] == ':');
    if (c == 'A' && !marked && i + 1 < generation.size() && i > 0) continue;  // "is A" article
    return std::string(1, c);
  }
  std::string lower = generation;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string pick;
  for (size_t k = 0; k < options.size() && k < 4; ++k) {
    std::string opt = options[k];
    for (char& ch : opt) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!opt.empty() && lower.find(opt) != std::string::npos) {
      if (!pick.empty()) return "";
      pick = std::string(1, static_cast<char>('A' + k));
    }
  }
  return pick;
}

std::set<std::string> resolve_metrics(const std::vector<std::string>& requested,
                                      bool have_retain_model, const std::string& benchmark) {
  std::set<std::string> out;
  if (requested.empty()) {
    for (const auto& d : metric_registry())
      if ((have_retain_model || !d.needs_retain_model) &&
          (d.benchmark.empty() || d.benchmark == benchmark))
        out.insert(d.name);
    out.insert("probes");
    return out;
  }
  for (const auto& name : requested) {
    if (name != "probes") {
      try {
        if (find_metric(name).needs_retain_model && !have_retain_model)
          throw UsageError("--metrics " + name +
                           " needs the retain-only model: give it with --retain-model ADAPTER");
      } catch (const UsageError&) {
        throw;
      } catch (const Error& e) {
        throw UsageError(std::string("--metrics: ") + e.what() + " (or 'probes')");
      }
    }
    out.insert(name);
  }
  // What the requested metrics are computed from, to a fixed point.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& d : metric_registry())
      if (out.count(d.name))
        for (const auto& need : d.needs) grew = out.insert(need).second || grew;
  }
  return out;
}

std::set<std::string> default_metrics_for(const data::Dataset& dataset, bool have_retain_model) {
  const std::string benchmark =
      dataset.manifest.is_object() ? dataset.manifest.value("benchmark", "") : "";
  std::set<std::string> out = resolve_metrics({}, have_retain_model, benchmark);
  const auto lacks = [&](const MetricDescriptor& d) {
    return (dataset.wrong_details.empty() &&
            (d.reads(MetricInput::kPerturbedNll) || d.reads(MetricInput::kTruthRatioSample))) ||
           (dataset.holdout.empty() &&
            (d.reads(MetricInput::kTokenLogprobs) || d.reads(MetricInput::kLogprobMoments))) ||
           (dataset.world.empty() && (d.name == "model_utility" || d.name == "tofu_model_utility"));
  };
  for (bool shrank = true; shrank;) {
    shrank = false;
    for (const auto& d : metric_registry()) {
      if (!out.count(d.name)) continue;
      bool drop = lacks(d);
      for (const auto& need : d.needs) drop = drop || !out.count(need);
      if (drop) shrank = out.erase(d.name) > 0 || shrank;
    }
  }
  return out;
}

Evaluator::Evaluator(model::CausalLM model, const text::Tokenizer& tokenizer,
                     std::vector<int64_t> eos_token_ids, const data::Dataset& dataset,
                     EvalOptions options)
    : model_(std::move(model)),
      tokenizer_(tokenizer),
      eos_token_ids_(std::move(eos_token_ids)),
      options_(std::move(options)) {
  LETHE_CHECK(options_.batch_size > 0, "eval: --batch-size must be positive");
  LETHE_CHECK(options_.max_new_tokens > 0, "eval: --max-new-tokens must be positive");
  LETHE_CHECK(options_.min_k > 0.0 && options_.min_k <= 1.0, "eval: min_k must be in (0, 1]");
  metrics_ = options_.metrics.empty()
                 ? default_metrics_for(dataset, options_.have_retain_model)
                 : resolve_metrics(options_.metrics, options_.have_retain_model);
  const auto limit = [&](size_t n) {
    return options_.limit > 0 ? std::min(n, static_cast<size_t>(options_.limit)) : n;
  };
  const std::string where = dataset.dir.string();
  LETHE_CHECK(!dataset.sf.empty(), where, "/", data::files::sf, ": no forget questions");
  // The truth-ratio material is read only by metrics of paraphrased / perturbed answers (a run
  // evaluating ROUGE-L and answer probability alone needs no wrong_details).
  const bool needs_wrong_details = any_reads(metrics_, MetricInput::kPerturbedNll);
  std::set<std::string> forget_ids;
  std::set<std::string> person_ids;
  for (size_t i = 0; i < limit(dataset.sf.size()); ++i) {
    const auto& qa = dataset.sf[i];
    const auto* wd = dataset.wrong_details_for(qa.id);
    LETHE_CHECK(wd || !needs_wrong_details, where, "/", data::files::wrong_details,
                ": no record for forget question ", qa.id);
    if (wd)
      forget_.push_back({&qa, wd->paraphrased_answer, wd->perturbed_answers});
    else
      forget_.push_back({&qa, "", {}});
    forget_ids.insert(qa.id);
    if (!qa.person_id.empty() && person_ids.insert(qa.person_id).second) {
      const auto* p = dataset.profile(qa.person_id);
      if (p) target_names_.push_back(p->name);
    }
  }
  for (size_t i = 0; i < limit(dataset.sr.size()); ++i) {
    const auto& qa = dataset.sr[i];
    const auto* wd = dataset.wrong_details_for(qa.id);
    LETHE_CHECK(wd || !needs_wrong_details, where, "/", data::files::wrong_details,
                ": no record for retain question ", qa.id);
    if (wd)
      retain_.push_back({&qa, wd->paraphrased_answer, wd->perturbed_answers});
    else
      retain_.push_back({&qa, "", {}});
  }
  for (size_t i = 0; i < limit(dataset.world.size()); ++i) {
    const auto& qa = dataset.world[i];
    LETHE_CHECK(!qa.paraphrased_answer.empty() && !qa.perturbed_answers.empty(), where, "/",
                data::files::world, ": ", qa.id, " has no paraphrased / perturbed answers");
    world_.push_back({&qa, qa.paraphrased_answer, qa.perturbed_answers});
  }
  for (size_t i = 0; i < limit(dataset.holdout.size()); ++i)
    holdout_.push_back(&dataset.holdout[i]);
  std::map<data::ProbeType, size_t> per_type;
  for (const auto& probe : dataset.forget_eval) {
    if (!forget_ids.count(probe.qa_id)) continue;
    if (options_.limit > 0 && per_type[probe.probe] >= static_cast<size_t>(options_.limit))
      continue;
    ++per_type[probe.probe];
    probes_.push_back(&probe);
  }
  const bool needs_holdout = any_reads(metrics_, MetricInput::kTokenLogprobs);
  LETHE_CHECK(!needs_holdout || !holdout_.empty(), where, "/", data::files::holdout,
              ": no holdout questions (membership inference needs them)");
  LETHE_CHECK(!world_.empty() || !enabled("model_utility"), where, "/", data::files::world,
              ": no world questions (model utility needs them)");
}

ModelEval Evaluator::evaluate(const ModelSpec& spec) {
  const std::optional<std::string> system =
      spec.icu ? std::optional<std::string>(options_.icu_system_prompt.empty()
                                                ? default_icu_prompt(target_names_)
                                                : options_.icu_system_prompt)
               : std::nullopt;
  if (spec.adapter.empty()) {
    if (model::has_lora(model_)) {
      model::LoraDisabledScope disabled(model_);
      return evaluate_current(spec, system);
    }
    return evaluate_current(spec, system);
  }
  model::load_adapter(model_, spec.adapter);
  model::set_lora_enabled(model_, true);
  // Scores and generations of the merged fp32 model equal the adapted one's up to fp32 rounding
  // (every metric within 1e-4 on the default run), and it is faster; the next model gets the exact
  // base weights back.
  model::LoraMergedScope merged(model_);
  return evaluate_current(spec, system);
}

ModelEval Evaluator::evaluate_current(const ModelSpec& spec,
                                      const std::optional<std::string>& system) {
  model_->eval();
  ModelEval out;
  out.spec = spec;
  out.system_prompt = system.value_or("");
  // The model calls the enabled metrics read (answers are always scored: answer_nll).
  const bool want_gen = any_reads(metrics_, MetricInput::kGeneration);
  const bool want_tr = any_reads(metrics_, MetricInput::kPerturbedNll);
  const bool want_mia = any_reads(metrics_, MetricInput::kTokenLogprobs);
  const bool want_moments = any_reads(metrics_, MetricInput::kLogprobMoments);
  const std::string tag = spec.name + ": ";

  // Requests: answers (forget first, with moments when MIA needs them), then truth-ratio material.
  std::vector<model::ScoreRequest> plain, with_moments;
  const auto request = [&](const std::string& question, const std::string& answer) {
    const auto ids = tokenizer_.encode_qa(question, answer, system);
    model::ScoreRequest r;
    r.ids = ids.prompt_ids;
    r.ids.insert(r.ids.end(), ids.answer_ids.begin(), ids.answer_ids.end());
    r.score_from = static_cast<int64_t>(ids.prompt_ids.size());
    return r;
  };
  const std::vector<std::pair<std::vector<QaItem>*, std::vector<QaEval>*>> sets = {
      {&forget_, &out.forget}, {&retain_, &out.retain}, {&world_, &out.world}};
  // (set, item) -> index of its answer request, and of its paraphrased request (perturbed follow).
  std::vector<std::vector<std::pair<bool, size_t>>> answer_at(3);  // (in the MIA list, index)
  std::vector<std::vector<size_t>> para_at(3);
  for (size_t s = 0; s < sets.size(); ++s) {
    for (const auto& item : *sets[s].first) {
      const bool in_mia = s == 0 && want_mia;
      auto& target = in_mia ? with_moments : plain;
      answer_at[s].emplace_back(in_mia, target.size());
      target.push_back(request(item.qa->question, item.qa->answer));
      if (want_tr) {
        para_at[s].push_back(plain.size());
        plain.push_back(request(item.qa->question, item.paraphrased));
        for (const auto& p : item.perturbed) plain.push_back(request(item.qa->question, p));
      }
    }
  }
  const size_t holdout_from = with_moments.size();
  if (want_mia)
    for (const auto* qa : holdout_) with_moments.push_back(request(qa->question, qa->answer));
  const auto scored_plain =
      score_requests(model_, plain, options_.batch_size, false, tag + "scoring", &stats_);
  const auto scored_mia = with_moments.empty()
                              ? std::vector<ScoredSequence>{}
                              : score_requests(model_, with_moments, options_.batch_size,
                                               want_moments, tag + "scoring (MIA)", &stats_);

  // Generation prompts: forget, retain, world questions, then probes.
  std::vector<std::vector<int64_t>> prompts;
  const auto prompt_of = [&](const std::string& user) {
    std::vector<text::ChatMessage> messages;
    if (system) messages.push_back({"system", *system});
    messages.push_back({"user", user});
    return tokenizer_.encode_chat(messages, /*add_generation_prompt=*/true);
  };
  if (want_gen)
    for (const auto& set : sets)
      for (const auto& item : *set.first) prompts.push_back(prompt_of(item.qa->question));
  const size_t probes_from = prompts.size();
  if (enabled("probes"))
    for (const auto* probe : probes_) prompts.push_back(prompt_of(probe->prompt));
  const auto generations =
      prompts.empty()
          ? std::vector<std::string>{}
          : generate_texts(model_, tokenizer_, prompts, eos_token_ids_, options_.max_new_tokens,
                           options_.batch_size, tag + "generation", &stats_);

  size_t g = 0;
  for (size_t s = 0; s < sets.size(); ++s) {
    const auto& items = *sets[s].first;
    for (size_t i = 0; i < items.size(); ++i) {
      const auto& item = items[i];
      QaEval e;
      e.id = item.qa->id;
      e.subset = data::subset_name(item.qa->subset);
      e.question = item.qa->question;
      e.answer = item.qa->answer;
      const auto [in_mia, a] = answer_at[s][i];
      const ScoredSequence& answer = in_mia ? scored_mia[a] : scored_plain[a];
      e.answer_nll = answer.mean_nll();
      e.answer_argmax_match = answer.argmax_match;
      if (want_tr) {
        size_t k = para_at[s][i];
        e.paraphrased_nll = scored_plain[k++].mean_nll();
        for (size_t p = 0; p < item.perturbed.size(); ++p)
          e.perturbed_nlls.push_back(scored_plain[k++].mean_nll());
      }
      if (want_gen) e.generation = generations[g++];
      for (const auto& metric : metric_registry())
        if (metric.per_example && enabled(metric.name)) metric.per_example(e);
      sets[s].second->push_back(std::move(e));
    }
  }
  if (want_mia) {
    std::vector<const std::vector<double>*> logp, mu, sigma;
    std::vector<std::string> texts;
    for (size_t i = 0; i < with_moments.size(); ++i) {
      logp.push_back(&scored_mia[i].logp);
      mu.push_back(&scored_mia[i].mu);
      sigma.push_back(&scored_mia[i].sigma);
      texts.push_back(i < holdout_from ? forget_[i].qa->answer
                                       : holdout_[i - holdout_from]->answer);
    }
    const auto [logp_t, mask] = pad_rows(logp);
    const auto loss = to_vector(mia_loss_score(logp_t, mask));
    const auto zlib = to_vector(mia_zlib_score(logp_t, mask, texts));
    const auto min_k = to_vector(mia_min_k_score(logp_t, mask, options_.min_k));
    std::vector<double> min_k_pp(with_moments.size(), 0.0);
    if (want_moments) {
      const auto mu_t = pad_rows(mu).first;
      const auto sigma_t = pad_rows(sigma).first;
      min_k_pp = to_vector(mia_min_k_plus_plus_score(logp_t, mu_t, sigma_t, mask, options_.min_k));
    }
    for (size_t i = 0; i < with_moments.size(); ++i) {
      MiaEval m;
      m.id = i < holdout_from ? forget_[i].qa->id : holdout_[i - holdout_from]->id;
      m.set = i < holdout_from ? "forget" : "holdout";
      m.loss = loss[i];
      m.zlib = zlib[i];
      m.min_k = min_k[i];
      m.min_k_plus_plus = min_k_pp[i];
      out.mia.push_back(std::move(m));
    }
  }
  if (enabled("probes")) {
    for (size_t i = 0; i < probes_.size(); ++i) {
      const auto& probe = *probes_[i];
      ProbeEval p;
      p.id = probe.id;
      p.qa_id = probe.qa_id;
      p.probe = data::probe_type_name(probe.probe);
      p.answer = probe.answer;
      p.generation = generations[probes_from + i];
      p.rouge_l_recall = rouge_l(p.answer, p.generation).recall;
      if (probe.probe == data::ProbeType::multiple_choice)
        p.correct = multiple_choice_pick(p.generation, probe.options) == probe.correct;
      out.probes.push_back(std::move(p));
    }
  }
  return out;
}

namespace {

std::vector<const QaEval*> pointers(const std::vector<QaEval>& v, const std::string& subset = "") {
  std::vector<const QaEval*> out;
  for (const auto& e : v)
    if (subset.empty() || e.subset == subset) out.push_back(&e);
  return out;
}

}  // namespace

json Evaluator::aggregates(const ModelEval& eval, const ModelEval* reference) const {
  json out;
  const std::vector<QaSetView> sets = {
      {k::kForget, pointers(eval.forget), TruthRatioMode::kForget, false},
      {k::kRetain, pointers(eval.retain), TruthRatioMode::kRetain, false},
      {k::kRetainCorrelated, pointers(eval.retain, "correlated"), TruthRatioMode::kRetain, false},
      {k::kRetainOther, pointers(eval.retain, "other"), TruthRatioMode::kRetain, false},
      {k::kWorld, pointers(eval.world), TruthRatioMode::kRetain, true}};
  for (const auto& set : sets) {
    json agg = {{k::kCount, set.items.size()}};
    if (!set.items.empty())
      for (const auto& metric : metric_registry())
        if (metric.set_value && enabled(metric.name)) metric.set_value(set, agg);
    out[set.name] = agg;
  }
  // Collateral damage: other - correlated, so > 0 means the correlated facts lost more.
  json gap = json::object();
  const json& correlated = out[k::kRetainCorrelated];
  const json& other = out[k::kRetainOther];
  for (const auto& metric : metric_registry())
    if (enabled(metric.name))
      for (const auto& key : metric.gap_keys)
        if (correlated.contains(key) && other.contains(key))
          gap[key] = other[key].get<double>() - correlated[key].get<double>();
  out[k::kRetainGap] = gap;
  const ModelView view{eval, reference, metrics_};
  for (const auto& metric : metric_registry())
    if (metric.model_value && enabled(metric.name)) metric.model_value(view, out);
  if (!eval.probes.empty()) {
    json probes = json::object();
    for (const auto type : data::all_probe_types()) {
      const std::string name = data::probe_type_name(type);
      std::vector<double> recall, correct;
      for (const auto& p : eval.probes) {
        if (p.probe != name) continue;
        recall.push_back(p.rouge_l_recall);
        if (p.correct) correct.push_back(*p.correct ? 1.0 : 0.0);
      }
      if (recall.empty()) continue;
      probes[name] = {{k::kCount, recall.size()}, {k::kRougeLRecall, mean_of(recall)}};
      if (!correct.empty()) probes[name][k::kAccuracy] = mean_of(correct);
    }
    out[k::kProbes] = probes;
  }
  // Generation health counts every generation, whichever health metrics are enabled.
  out[k::kHealth][k::kCount] =
      eval.forget.size() + eval.retain.size() + eval.world.size() + eval.probes.size();
  return out;
}

json Evaluator::results_json(const std::vector<ModelEval>& evals) const {
  const ModelEval* reference = nullptr;
  for (const auto& e : evals)
    if (e.spec.retain_reference) reference = &e;
  LETHE_CHECK(reference || (!enabled("forget_quality") && !enabled("privleak")),
              "eval: forget_quality / privleak need the retain-only model (--retain-model)");
  json models = json::object();
  for (const auto& e : evals) {
    json m;
    m["adapter"] = e.spec.adapter.empty() ? json(nullptr) : json(e.spec.adapter);
    m["icu"] = e.spec.icu;
    m["retain_reference"] = e.spec.retain_reference;
    m["system_prompt"] = e.system_prompt.empty() ? json(nullptr) : json(e.system_prompt);
    m["aggregates"] = aggregates(e, reference);
    json per = json::object();
    for (const auto& [key, set] : std::vector<std::pair<std::string, const std::vector<QaEval>*>>{
             {"forget", &e.forget}, {"retain", &e.retain}, {"world", &e.world}}) {
      json rows = json::array();
      for (const auto& q : *set) {
        json row = {{"id", q.id},
                    {"subset", q.subset},
                    {"question", q.question},
                    {"answer", q.answer},
                    {"generation", q.generation},
                    {"answer_nll", q.answer_nll},
                    {"paraphrased_nll", q.paraphrased_nll},
                    {"perturbed_nlls", q.perturbed_nlls}};
        for (const auto& [name, value] : q.values) row[name] = value;
        rows.push_back(row);
      }
      per[key] = rows;
    }
    json mia = json::array();
    for (const auto& x : e.mia)
      mia.push_back({{"id", x.id},
                     {"set", x.set},
                     {"loss", x.loss},
                     {"zlib", x.zlib},
                     {"min_k", x.min_k},
                     {"min_k_plus_plus", x.min_k_plus_plus}});
    per["mia"] = mia;
    json probes = json::array();
    for (const auto& p : e.probes) {
      json row = {
          {"id", p.id},         {"qa_id", p.qa_id},           {"probe", p.probe},
          {"answer", p.answer}, {"generation", p.generation}, {"rouge_l_recall", p.rouge_l_recall}};
      if (p.correct) row["correct"] = *p.correct;
      probes.push_back(row);
    }
    per["probes"] = probes;
    m["per_example"] = per;
    LETHE_CHECK(!models.contains(e.spec.name), "eval: two models named '", e.spec.name,
                "' (use --name)");
    models[e.spec.name] = m;
  }
  return models;
}

}  // namespace lethe::eval
