// Built-in profiles, merging, and the one parse of a `lethe run` config into typed sections with
// its checks (see run_config.h; the schema is documented in docs/run.md).
#include "pipeline/run_config.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "analysis/repr_run.h"
#include "core/error.h"
#include "datagen/generate_options.h"
#include "eval/evaluator_run.h"
#include "objectives/objective.h"
#include "quant/quantize_eval.h"
#include "train/lr_schedule.h"
#include "train/relearn.h"
#include "train/stop_criterion.h"
#include "train/training_eval.h"
#if LETHE_PIPELINE_HAS_QUANT
#include "quant/scheme.h"
#endif

namespace lethe::pipeline {

using json = nlohmann::json;

json default_run_config() {
  return json::parse(R"({
    "seed": 42,
    "model": "models/lethe-base",
    "dtype": "float32",
    "device": "cpu",
    "max_length": 256,
    "data": {"targets": 10, "background": 50, "holdout": 10, "sf_per_target": 4,
             "correlated_per_target": 4, "other_per_target": 6, "world_country_qa": 60},
    "finetune": {"learning_rate": 1e-3, "epochs": 20, "batch_size": 8, "lr_scheduler": "cosine",
                 "lora": {"r": 16, "lora_alpha": 32}},
    "retain_only": {},
    "unlearn": {"learning_rate": 1e-4, "batch_size": 8, "lr_scheduler": "constant",
                "intensities": {"light": 5, "medium": 10, "heavy": 20},
                "methods": {"grad_ascent": {}, "grad_diff": {}, "npo": {"beta": 0.1}}},
    "eval": {"max_new_tokens": 32, "batch_size": 64, "limit": 0},
    "quantize": {"schemes": ["int8", "int4_g128_sym", "nf4"], "models": "heavy"},
    "relearn": {"set": "forget", "examples": 8, "steps": [5, 10, 20], "learning_rate": 1e-4,
                "models": "heavy"},
    "repr": {"layers": ["last", "middle", "all"], "limit": 0}
  })");
}

json quick_overlay() {
  // The same benchmark as the default (the shipped base model knows its world), fewer and shorter
  // unlearning runs, and every model evaluated on the first 20 questions of each set (batches of
  // 16: with sets this small, the default's 64 was measured no faster).
  return json::parse(R"({
    "finetune": {"learning_rate": 2e-3, "epochs": 10},
    "unlearn": {"learning_rate": 1e-3, "intensities": {"light": 1, "medium": 2, "heavy": 4}},
    "eval": {"max_new_tokens": 16, "batch_size": 16, "limit": 20},
    "quantize": {"schemes": ["int8", "nf4"]},
    "relearn": {"examples": 4, "steps": [2, 4]},
    "repr": {"layers": ["last", "all"], "limit": 20}
  })");
}

json merge_config(json base, const json& over) {
  if (!base.is_object() || !over.is_object()) return over;
  for (auto it = over.begin(); it != over.end(); ++it) {
    // Method and intensity tables are replaced whole: listing methods selects them.
    if (base.contains(it.key()) && it.key() != "methods" && it.key() != "intensities")
      base[it.key()] = merge_config(base[it.key()], it.value());
    else
      base[it.key()] = it.value();
  }
  return base;
}

std::string ConfigOrigin::where(const std::string& key_path) const {
  if (file) {
    const auto it = lines.find(key_path);
    if (it != lines.end()) return file->string() + ":" + std::to_string(it->second);
  }
  return profile;
}

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Reads values of the resolved config; every error is "WHERE: key.path: what is wrong".
class Checker {
 public:
  explicit Checker(const ConfigOrigin& origin) : origin_(origin) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(origin_.where(path) + ": " + path + ": " + what);
  }
  [[noreturn]] void unknown(const std::string& path, const std::vector<std::string>& valid) const {
    fail(path, "unknown key (valid: " + join(valid) + ")");
  }
  std::string where(const std::string& path) const { return origin_.where(path); }

  const json& mapping(const json& v, const std::string& path) const {
    if (!v.is_object()) fail(path, "must be a mapping, got " + v.dump());
    return v;
  }
  // Integers; a float with an integral value (1e3) is one, as in the train layer's parser.
  int64_t integer(const json& v, const std::string& path, int64_t min) const {
    const bool integral =
        v.is_number_integer() ||
        (v.is_number_float() && std::isfinite(v.get<double>()) &&
         std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) < 9e15);
    if (!integral || (v.is_number_unsigned() ? false : v.get<double>() < static_cast<double>(min)))
      fail(path, "must be an integer >= " + std::to_string(min) + ", got " + v.dump());
    return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
  }
  // A finite number in [lo, hi] (open ends as asked).
  double number(const json& v, const std::string& path, double lo, double hi, bool lo_open = false,
                bool hi_open = false) const {
    const bool ok = v.is_number() && std::isfinite(v.get<double>()) &&
                    (lo_open ? v.get<double>() > lo : v.get<double>() >= lo) &&
                    (hi_open ? v.get<double>() < hi : v.get<double>() <= hi);
    if (!ok) {
      std::string range;
      auto text = [](double x) {  // 0 and 1, not 0.0 and 1.0
        return std::floor(x) == x ? std::to_string(static_cast<int64_t>(x)) : json(x).dump();
      };
      if (std::isfinite(lo)) range += (lo_open ? " > " : " >= ") + text(lo);
      if (std::isfinite(hi))
        range += (range.empty() ? " " : " and ") + std::string(hi_open ? "< " : "<= ") + text(hi);
      fail(path, "must be a finite number" + range + ", got " + v.dump());
    }
    return v.get<double>();
  }
  double positive(const json& v, const std::string& path) const {
    return number(v, path, 0, INFINITY, true);
  }
  bool boolean(const json& v, const std::string& path) const {
    if (!v.is_boolean()) fail(path, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string string(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, "must be a string, got " + v.dump());
    return v.get<std::string>();
  }
  std::string one_of(const json& v, const std::string& path,
                     const std::vector<std::string>& valid) const {
    const std::string s = string(v, path);
    if (std::find(valid.begin(), valid.end(), s) == valid.end())
      fail(path, "must be one of " + join(valid) + ", got " + v.dump());
    return s;
  }
  std::vector<std::string> strings(const json& v, const std::string& path, bool non_empty) const {
    if (!v.is_array() || (non_empty && v.empty()))
      fail(path, std::string("must be a ") + (non_empty ? "non-empty " : "") +
                     "list of strings, got " + v.dump());
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(string(v[i], path + "." + std::to_string(i)));
    return out;
  }
  // A list of integers >= min (or one integer, as the train layer accepts).
  std::vector<int64_t> integers(const json& v, const std::string& path, int64_t min,
                                bool non_empty) const {
    if (v.is_number()) return {integer(v, path, min)};
    if (!v.is_array() || (non_empty && v.empty()))
      fail(path, std::string("must be a ") + (non_empty ? "non-empty " : "") +
                     "list of integers, got " + v.dump());
    std::vector<int64_t> out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(integer(v[i], path + "." + std::to_string(i), min));
    return out;
  }
  // A library check (UsageError / Error) rethrown at `path`.
  template <typename F>
  void library(const std::string& path, F&& check) const {
    try {
      check();
    } catch (const Error& e) {
      fail(path, e.what());
    }
  }
  // The same for a train-layer parser whose messages already start with `path`.
  template <typename F>
  void parser(const std::string& path, F&& parse) const {
    try {
      parse();
    } catch (const Error& e) {
      throw Error(origin_.where(path) + ": " + e.what());
    }
  }

 private:
  const ConfigOrigin& origin_;
};

// The `lethe finetune` / `lethe unlearn` training keys (train::train_options_from_json), checked
// for type and range. False when `key` is not one.
bool check_train_option(const Checker& c, const std::string& key, const json& v,
                        const std::string& path) {
  static const std::map<std::string,
                        std::function<void(const Checker&, const json&, const std::string&)>>
      rules = {
          {"reference",
           [](auto& c, auto& v, auto& p) {
             c.one_of(v, p, {"initial", "adapter_disabled"});
           }},
          {"learning_rate", [](auto& c, auto& v, auto& p) { c.positive(v, p); }},
          {"lr_scheduler",
           [](auto& c, auto& v, auto& p) { c.one_of(v, p, train::schedule_names()); }},
          {"warmup_steps", [](auto& c, auto& v, auto& p) { c.integer(v, p, 0); }},
          {"warmup_ratio", [](auto& c, auto& v, auto& p) { c.number(v, p, 0, 1); }},
          {"min_lr_ratio", [](auto& c, auto& v, auto& p) { c.number(v, p, 0, 1); }},
          {"weight_decay", [](auto& c, auto& v, auto& p) { c.number(v, p, 0, INFINITY); }},
          {"adam_beta1", [](auto& c, auto& v, auto& p) { c.number(v, p, 0, 1, false, true); }},
          {"adam_beta2", [](auto& c, auto& v, auto& p) { c.number(v, p, 0, 1, false, true); }},
          {"adam_epsilon", [](auto& c, auto& v, auto& p) { c.positive(v, p); }},
          {"epochs", [](auto& c, auto& v, auto& p) { c.integer(v, p, 1); }},
          {"max_steps", [](auto& c, auto& v, auto& p) { c.integer(v, p, 0); }},
          {"batch_size", [](auto& c, auto& v, auto& p) { c.integer(v, p, 1); }},
          {"grad_accum", [](auto& c, auto& v, auto& p) { c.integer(v, p, 1); }},
          // <= 0 turns clipping off.
          {"max_grad_norm", [](auto& c, auto& v, auto& p) { c.number(v, p, -INFINITY, INFINITY); }},
          {"group_by_length", [](auto& c, auto& v, auto& p) { c.boolean(v, p); }},
          {"seed", [](auto& c, auto& v, auto& p) { c.integer(v, p, 0); }},
          {"autocast",
           [](auto& c, auto& v, auto& p) {
             c.one_of(v, p, {"none", "bfloat16", "float16"});
           }},
          {"trainable_layers", [](auto& c, auto& v, auto& p) { c.integers(v, p, 0, false); }},
          {"save_every_steps", [](auto& c, auto& v, auto& p) { c.integer(v, p, 0); }},
          {"save_epochs", [](auto& c, auto& v, auto& p) { c.integers(v, p, 1, false); }},
          {"keep_checkpoints", [](auto& c, auto& v, auto& p) { c.integer(v, p, 1); }},
          {"log_every", [](auto& c, auto& v, auto& p) { c.integer(v, p, 1); }},
      };
  const auto rule = rules.find(key);
  if (rule == rules.end()) return false;
  rule->second(c, v, path);
  return true;
}

std::vector<std::string> train_option_names() {
  return {"reference",    "learning_rate",    "lr_scheduler",     "warmup_steps",
          "warmup_ratio", "min_lr_ratio",     "weight_decay",     "adam_beta1",
          "adam_beta2",   "adam_epsilon",     "epochs",           "max_steps",
          "batch_size",   "grad_accum",       "max_grad_norm",    "group_by_length",
          "seed",         "autocast",         "trainable_layers", "save_every_steps",
          "save_epochs",  "keep_checkpoints", "log_every"};
}

// Keys of a `lethe finetune` config that the run sets itself.
const char* run_sets(const std::string& key) {
  if (key == "model" || key == "dtype" || key == "device" || key == "max_length")
    return "set at the top level of the run config, not per stage";
  if (key == "data" || key == "out" || key == "retain_only" || key == "adapter" ||
      key == "forget" || key == "retain")
    return "set by the run (the run folder's data and models)";
  return nullptr;
}

// The params of one objective: finite numbers its registry entry accepts, in range (spec.check).
objectives::ObjectiveParams check_params(const Checker& c, const objectives::ObjectiveSpec& spec,
                                         const json& params, const std::string& path) {
  objectives::ObjectiveParams given;
  for (auto it = params.begin(); it != params.end(); ++it) {
    const std::string at = path + "." + it.key();
    if (!spec.defaults.count(it.key())) {
      std::vector<std::string> valid;
      for (const auto& [k, v] : spec.defaults) valid.push_back(k);
      c.fail(at, "not a parameter of " + spec.name +
                     (valid.empty() ? " (it takes none)" : " (valid: " + join(valid) + ")"));
    }
    given[it.key()] = c.number(it.value(), at, -INFINITY, INFINITY);
    c.library(at, [&] { objectives::resolve_params(spec, {{it.key(), given[it.key()]}}); });
  }
  c.library(path, [&] { objectives::resolve_params(spec, given); });
  return given;
}

// finetune / retain_only: `lethe finetune` keys.
void check_finetune_keys(const Checker& c, const json& section, const std::string& path) {
  const std::string objective =
      section.contains("objective") ? c.string(section["objective"], path + ".objective") : "sft";
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string& key = it.key();
    const std::string at = path + "." + key;
    const json& v = it.value();
    if (check_train_option(c, key, v, at)) continue;
    if (const char* why = run_sets(key)) c.fail(at, why);
    if (key == "objective") {
      c.library(at, [&] { objectives::find_objective(objective); });
    } else if (key == "objective_params") {
      const auto* spec = &objectives::find_objective(objective);
      check_params(c, *spec, c.mapping(v, at), at);
    } else if (key == "system_prompt") {
      if (!v.is_null()) c.string(v, at);
    } else if (key == "lora") {
      for (auto l = c.mapping(v, at).begin(); l != v.end(); ++l) {
        const std::string lat = at + "." + l.key();
        if (l.key() == "r")
          c.integer(l.value(), lat, 1);
        else if (l.key() == "lora_alpha")
          c.positive(l.value(), lat);
        else if (l.key() == "lora_dropout")
          c.number(l.value(), lat, 0, 1, false, true);
        else if (l.key() == "use_rslora")
          c.boolean(l.value(), lat);
        else if (l.key() == "target_modules") {
          if (!l.value().is_string()) c.strings(l.value(), lat, true);
        } else
          c.unknown(lat, {"r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora"});
      }
    } else {
      auto valid = train_option_names();
      valid.insert(valid.end(), {"objective", "objective_params", "system_prompt", "lora"});
      c.unknown(at, valid);
    }
  }
}

train::FinetuneConfig parse_finetune(const Checker& c, const json& section, uint64_t seed,
                                     const std::string& path) {
  train::FinetuneConfig config;
  config.train.seed = seed;  // the run's seed unless the section sets its own
  c.parser(path, [&] { train::finetune_config_from_json(section, config, path); });
  return config;
}

ModelSelector parse_selector(const Checker& c, const json& v, const std::string& path,
                             const std::vector<std::string>& unlearned) {
  ModelSelector s;
  if (v.is_array()) {
    s.mode = "list";
    s.names = c.strings(v, path, false);
    for (size_t i = 0; i < s.names.size(); ++i)
      if (std::find(unlearned.begin(), unlearned.end(), s.names[i]) == unlearned.end())
        c.fail(path + "." + std::to_string(i),
               "'" + s.names[i] +
                   "' is not an unlearned model of this run (valid: " + join(unlearned) + ")");
    return s;
  }
  if (!v.is_string() || (v != "heavy" && v != "all"))
    c.fail(path, "must be \"heavy\", \"all\" or a list of unlearned models, got " + v.dump());
  s.mode = v.get<std::string>();
  return s;
}

UnlearnSection parse_unlearn(const Checker& c, const json& section, uint64_t seed) {
  UnlearnSection out;
  const std::string path = "unlearn";
  json common = json::object();
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string& key = it.key();
    const std::string at = path + "." + key;
    const json& v = it.value();
    if (key == "intensities") {
      if (!v.is_object() || v.empty())
        c.fail(at, "must be a non-empty mapping {label: epochs}, got " + v.dump());
      for (auto i = v.begin(); i != v.end(); ++i)
        out.intensities[i.key()] = c.integer(i.value(), at + "." + i.key(), 1);
      continue;
    }
    if (key == "methods") {
      if (!v.is_object() || v.empty())
        c.fail(at, "must be a non-empty mapping {method: {parameters}}, got " + v.dump());
      continue;
    }
    if (key == "epochs" || key == "save_epochs")
      c.fail(at, "set by unlearn.intensities (one run per method, exported at each intensity)");
    if (key == "objective" || key == "method" || key == "params" || key == "objective_params")
      c.fail(at, "set by unlearn.methods (method: {parameters})");
    if (const char* why = run_sets(key)) c.fail(at, why);
    if (key == "parameters")
      c.one_of(v, at, {"lora", "full"});
    else if (key == "refusal_seed")
      c.integer(v, at, 0);
    else if (key == "system_prompt") {
      if (!v.is_null()) c.string(v, at);
    } else if (key == "eval_every" || key == "eval_limit") {
      c.integer(v, at, 0);
    } else if (key == "eval_max_new_tokens") {
      c.integer(v, at, 1);
    } else if (key == "stop_when") {
      if (!v.is_null()) {
        const std::string text = c.string(v, at);
        c.library(at, [&] { train::StopCriterion::parse(text, train::training_eval_keys()); });
      }
    } else if (!check_train_option(c, key, v, at)) {
      auto valid = train_option_names();
      valid.erase(
          std::remove_if(valid.begin(), valid.end(),
                         [](const std::string& k) { return k == "epochs" || k == "save_epochs"; }),
          valid.end());
      valid.insert(valid.end(),
                   {"parameters", "refusal_seed", "system_prompt", "eval_every", "eval_limit",
                    "eval_max_new_tokens", "stop_when", "intensities", "methods"});
      c.unknown(at, valid);
    }
    common[key] = v;
  }
  if (common.contains("stop_when") && !common["stop_when"].is_null() &&
      (!common.contains("eval_every") || common["eval_every"].get<double>() <= 0))
    c.fail(path + ".stop_when",
           "needs unlearn.eval_every > 0 (the criterion is checked at each evaluation)");
  if (!section.contains("intensities")) c.fail(path + ".intensities", "missing");
  if (!section.contains("methods")) c.fail(path + ".methods", "missing");

  std::vector<std::pair<int64_t, std::string>> labels;
  for (const auto& [label, epochs] : out.intensities) labels.emplace_back(epochs, label);
  std::sort(labels.begin(), labels.end());
  std::vector<int64_t> save;
  for (const auto& l : labels) save.push_back(l.first);
  const json& methods = section["methods"];
  for (auto m = methods.begin(); m != methods.end(); ++m) {
    const std::string at = path + ".methods." + m.key();
    const objectives::ObjectiveSpec* spec = nullptr;
    c.library(at, [&] { spec = &objectives::find_objective(m.key()); });
    if (!m.value().is_null()) c.mapping(m.value(), at);
    // A method entry may override these common keys; the rest are the objective's parameters.
    static const std::vector<std::string> overrides = {
        "learning_rate", "batch_size", "lr_scheduler", "weight_decay",
        "max_grad_norm", "grad_accum", "reference",    "warmup_ratio"};
    json j = common;
    json params = json::object();
    if (m.value().is_object())
      for (auto p = m.value().begin(); p != m.value().end(); ++p) {
        if (std::find(overrides.begin(), overrides.end(), p.key()) != overrides.end()) {
          check_train_option(c, p.key(), p.value(), at + "." + p.key());
          j[p.key()] = p.value();
        } else {
          params[p.key()] = p.value();
        }
      }
    check_params(c, *spec, params, at);
    UnlearnMethod method;
    method.name = m.key();
    method.params = params;
#if LETHE_PIPELINE_HAS_UNLEARN
    j["method"] = m.key();
    j["params"] = params;
    j["epochs"] = labels.back().first;
    j["save_epochs"] = save;
    method.config = train::default_unlearn_config();
    method.config.train.seed = seed;  // the run's seed unless the section sets its own
    c.parser(at, [&] { train::unlearn_config_from_json(j, method.config, at); });
#else
    (void)seed;
#endif
    out.methods.push_back(std::move(method));
  }
  return out;
}

}  // namespace

std::vector<std::string> unlearn_model_names(const UnlearnSection& unlearn) {
  std::vector<std::pair<int64_t, std::string>> labels;
  for (const auto& [label, epochs] : unlearn.intensities) labels.emplace_back(epochs, label);
  std::sort(labels.begin(), labels.end());
  std::vector<std::string> names;
  for (const auto& m : unlearn.methods)
    for (const auto& l : labels) names.push_back("unlearn_" + m.name + "_" + l.second);
  return names;
}

std::vector<std::string> select_models(const ModelSelector& selector,
                                       const std::vector<std::string>& unlearned,
                                       const UnlearnSection& unlearn) {
  if (selector.mode == "list") {
    for (const auto& name : selector.names)
      LETHE_CHECK(std::find(unlearned.begin(), unlearned.end(), name) != unlearned.end(),
                  "models: '", name, "' is not an unlearned model of this run");
    return selector.names;
  }
  if (selector.mode == "all") return unlearned;
  LETHE_CHECK(selector.mode == "heavy", "models: expected \"heavy\", \"all\" or a list, got '",
              selector.mode, "'");
  int64_t most = 0;
  std::string heaviest;
  for (const auto& [label, epochs] : unlearn.intensities)
    if (epochs > most) most = epochs, heaviest = label;
  std::vector<std::string> out;
  const std::string suffix = "_" + heaviest;
  for (const auto& n : unlearned)
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(n);
  return out;
}

RunConfig parse_run_config(const json& config, const ConfigOrigin& origin) {
  const Checker c(origin);
  RunConfig out;
  out.document = config;
  if (!config.is_object()) c.fail("(top level)", "the config must be a mapping");
  static const std::vector<std::string> top = {
      "seed",        "seeds",   "model", "dtype",    "device",  "max_length", "data", "finetune",
      "retain_only", "unlearn", "eval",  "quantize", "relearn", "repr",       "audit"};
  for (auto it = config.begin(); it != config.end(); ++it) {
    if (std::find(top.begin(), top.end(), it.key()) == top.end()) c.unknown(it.key(), top);
    // The sections (data ... audit) are mappings.
    if (std::find(top.begin() + 6, top.end(), it.key()) != top.end() && !it.value().is_null())
      c.mapping(it.value(), it.key());
  }
  for (const char* key : {"seed", "model", "dtype", "device", "max_length", "data", "finetune",
                          "unlearn", "eval", "quantize", "relearn", "repr"})
    if (!config.contains(key)) c.fail(key, "missing");
  out.seed = static_cast<uint64_t>(c.integer(config["seed"], "seed", 0));
  if (config.contains("seeds") && !config["seeds"].is_null()) {
    out.seeds = c.integer(config["seeds"], "seeds", 1);
    if (*out.seeds > 1000) c.fail("seeds", "must be at most 1000, got " + config["seeds"].dump());
  }
  out.model = c.string(config["model"], "model");
  if (out.model.empty()) c.fail("model", "must name a model folder or HF id");
  out.dtype = c.one_of(config["dtype"], "dtype", {"auto", "float32", "bfloat16", "float16"});
  out.device = c.string(config["device"], "device");
  {
    const std::string& d = out.device;
    const bool cuda_n =
        d.rfind("cuda:", 0) == 0 && d.size() > 5 &&
        std::all_of(d.begin() + 5, d.end(), [](char ch) { return std::isdigit(ch); });
    if (d != "cpu" && d != "cuda" && d != "auto" && !cuda_n)
      c.fail("device", "must be cpu, cuda, cuda:N or auto, got " + config["device"].dump());
  }
  out.max_length = c.integer(config["max_length"], "max_length", 2);

  // data: datagen::GenerateOptions sizes.
  {
    const datagen::GenerateOptions defaults;
    DataSection& d = out.data;
    const std::map<std::string, std::pair<int*, int>> fields = {
        {"targets", {&d.targets, defaults.targets}},
        {"background", {&d.background, defaults.background}},
        {"holdout", {&d.holdout, defaults.holdout}},
        {"sf_per_target", {&d.sf_per_target, defaults.sf_per_target}},
        {"correlated_per_target", {&d.correlated_per_target, defaults.correlated_per_target}},
        {"other_per_target", {&d.other_per_target, defaults.other_per_target}},
        {"world_person_qa", {&d.world_person_qa, defaults.world_person_qa}},
        {"world_country_qa", {&d.world_country_qa, defaults.world_country_qa}},
        {"perturbed", {&d.perturbed, defaults.perturbed}},
        {"paraphrased_questions", {&d.paraphrased_questions, defaults.paraphrased_questions}},
        {"corpus_phrasings", {&d.corpus_phrasings, defaults.corpus_phrasings}},
        {"corpus_prose", {&d.corpus_prose, defaults.corpus_prose}}};
    for (const auto& [key, field] : fields) *field.first = field.second;
    std::vector<std::string> valid;
    for (const auto& [key, field] : fields) valid.push_back(key);
    const json& section = config["data"];
    for (auto it = section.begin(); it != section.end(); ++it) {
      const auto f = fields.find(it.key());
      if (f == fields.end()) c.unknown("data." + it.key(), valid);
      const int64_t v = c.integer(it.value(), "data." + it.key(), it.key() == "targets" ? 1 : 0);
      if (v > 1'000'000)
        c.fail("data." + it.key(), "must be at most 1000000, got " + std::to_string(v));
      *f->second.first = static_cast<int>(v);
    }
    // The generator's own range checks (sf_per_target <= 6, ...), before any stage runs.
    datagen::GenerateOptions o;
    o.out_dir = "data";  // the stage's; validate() only asks that there is one
    o.targets = d.targets, o.background = d.background, o.holdout = d.holdout;
    o.sf_per_target = d.sf_per_target, o.correlated_per_target = d.correlated_per_target;
    o.other_per_target = d.other_per_target, o.world_person_qa = d.world_person_qa;
    o.world_country_qa = d.world_country_qa, o.perturbed = d.perturbed;
    o.paraphrased_questions = d.paraphrased_questions, o.corpus_phrasings = d.corpus_phrasings;
    o.corpus_prose = d.corpus_prose;
    c.library("data", [&] { o.validate(); });
  }

  // finetune, and retain_only = finetune + its overrides.
  check_finetune_keys(c, config["finetune"], "finetune");
  out.finetune = parse_finetune(c, config["finetune"], out.seed, "finetune");
  const json retain = config.value("retain_only", json::object()).is_null()
                          ? json::object()
                          : config.value("retain_only", json::object());
  check_finetune_keys(c, retain, "retain_only");
  out.retain_only = parse_finetune(c, merge_config(config["finetune"], retain), out.seed,
                                   retain.empty() ? "finetune" : "retain_only");

  out.unlearn = parse_unlearn(c, config["unlearn"], out.seed);
  const std::vector<std::string> unlearned = unlearn_model_names(out.unlearn);

  // eval
  {
    const eval::EvalOptions defaults;
    EvalSection& e = out.eval;
    e.max_new_tokens = defaults.max_new_tokens;
    e.batch_size = defaults.batch_size;
    e.limit = defaults.limit;
    e.min_k = defaults.min_k;
    e.metrics = defaults.metrics;
    e.icu = eval::EvalRunConfig{}.icu;
    const json& section = config["eval"];
    for (auto it = section.begin(); it != section.end(); ++it) {
      const std::string at = "eval." + it.key();
      const auto& k = it.key();
      if (k == "max_new_tokens")
        e.max_new_tokens = c.integer(it.value(), at, 1);
      else if (k == "batch_size")
        e.batch_size = c.integer(it.value(), at, 1);
      else if (k == "limit")
        e.limit = c.integer(it.value(), at, 0);
      else if (k == "min_k")
        e.min_k = c.number(it.value(), at, 0, 1, true);
      else if (k == "metrics")
        e.metrics = c.strings(it.value(), at, false);
      else if (k == "icu")
        e.icu = c.boolean(it.value(), at);
      else
        c.unknown(at, {"max_new_tokens", "batch_size", "limit", "min_k", "metrics", "icu"});
    }
  }

  // quantize
  {
    const quant::QuantizeEvalConfig defaults;
    QuantizeSection& q = out.quantize;
    q.schemes = defaults.schemes;
    q.calibration_questions = defaults.calibration_questions;
    q.include_base = defaults.include_base;
    const json& section = config["quantize"];
    for (auto it = section.begin(); it != section.end(); ++it) {
      const std::string at = "quantize." + it.key();
      const auto& k = it.key();
      if (k == "schemes") {
        q.schemes = c.strings(it.value(), at, true);
#if LETHE_PIPELINE_HAS_QUANT
        for (size_t i = 0; i < q.schemes.size(); ++i)
          c.library(at + "." + std::to_string(i), [&] { quant::find_scheme(q.schemes[i]); });
#endif
      } else if (k == "models")
        q.models = parse_selector(c, it.value(), at, unlearned);
      else if (k == "calibration_questions")
        q.calibration_questions = c.integer(it.value(), at, 1);
      else if (k == "include_base")
        q.include_base = c.boolean(it.value(), at);
      else if (k == "limit")
        q.limit = c.integer(it.value(), at, 0);
      else
        c.unknown(at, {"schemes", "models", "calibration_questions", "include_base", "limit"});
    }
  }

  // relearn
  {
    const train::RelearnConfig defaults;
    RelearnSection& r = out.relearn;
    r.set = defaults.set;
    r.examples = defaults.examples;
    r.eval_limit = defaults.eval_limit;
    r.steps = defaults.options.steps;
    r.learning_rate = defaults.options.learning_rate;
    r.batch_size = defaults.options.batch_size;
    r.max_new_tokens = defaults.options.max_new_tokens;
    const json& section = config["relearn"];
    for (auto it = section.begin(); it != section.end(); ++it) {
      const std::string at = "relearn." + it.key();
      const auto& k = it.key();
      if (k == "set")
        r.set = c.one_of(it.value(), at, {"forget", "correlated", "unrelated"});
      else if (k == "examples")
        r.examples = c.integer(it.value(), at, 1);
      else if (k == "eval_limit")
        r.eval_limit = c.integer(it.value(), at, 0);
      else if (k == "steps")
        r.steps = c.integers(it.value(), at, 1, true);
      else if (k == "learning_rate")
        r.learning_rate = c.positive(it.value(), at);
      else if (k == "batch_size")
        r.batch_size = c.integer(it.value(), at, 1);
      else if (k == "max_new_tokens")
        r.max_new_tokens = c.integer(it.value(), at, 1);
      else if (k == "models")
        r.models = parse_selector(c, it.value(), at, unlearned);
      else
        c.unknown(at, {"set", "examples", "eval_limit", "steps", "learning_rate", "batch_size",
                       "max_new_tokens", "models"});
    }
  }

  // repr
  {
    const analysis::ReprConfig defaults;
    ReprSection& r = out.repr;
    r.layers = defaults.layers;
    r.limit = defaults.limit;
    r.batch_size = defaults.batch_size;
    r.models.mode = "all";
    const json& section = config["repr"];
    for (auto it = section.begin(); it != section.end(); ++it) {
      const std::string at = "repr." + it.key();
      const auto& k = it.key();
      if (k == "layers") {
        r.layers = c.strings(it.value(), at, true);
        for (size_t i = 0; i < r.layers.size(); ++i) {
          const std::string& l = r.layers[i];
          const bool index = !l.empty() && std::all_of(l.begin(), l.end(), [](char ch) {
            return std::isdigit(static_cast<unsigned char>(ch));
          });
          if (l != "last" && l != "middle" && l != "all" && !index)
            c.fail(at + "." + std::to_string(i),
                   "must be last, middle, all or a hidden-state index, got \"" + l + "\"");
        }
      } else if (k == "limit")
        r.limit = c.integer(it.value(), at, 0);
      else if (k == "batch_size")
        r.batch_size = c.integer(it.value(), at, 1);
      else if (k == "models")
        r.models = parse_selector(c, it.value(), at, unlearned);
      else
        c.unknown(at, {"layers", "limit", "batch_size", "models"});
    }
  }

  // audit: verdict thresholds (null turns a check off).
  if (config.contains("audit") && !config["audit"].is_null()) {
    report::AuditThresholds& t = out.audit;
    const std::map<std::string, std::optional<double>*> slots = {
        {"max_forget_rouge_l", &t.max_forget_rouge_l},
        {"min_utility_ratio", &t.min_utility_ratio},
        {"max_quant_recovery", &t.max_quant_recovery},
        {"max_relearn_recovery", &t.max_relearn_recovery},
        {"max_probe_accuracy", &t.max_probe_accuracy},
        {"max_mia_auc_distance", &t.max_mia_auc_distance}};
    std::vector<std::string> valid;
    for (const auto& [key, slot] : slots) valid.push_back(key);
    const json& section = config["audit"];
    for (auto it = section.begin(); it != section.end(); ++it) {
      const std::string at = "audit." + it.key();
      const auto slot = slots.find(it.key());
      if (slot == slots.end()) c.unknown(at, valid);
      *slot->second = it.value().is_null()
                          ? std::nullopt
                          : std::optional<double>(c.number(it.value(), at, -INFINITY, INFINITY));
    }
  }
  return out;
}

json resolve_run_config(const std::optional<std::filesystem::path>& file, bool quick,
                        ConfigOrigin* origin_out) {
  ConfigOrigin origin;
  if (quick) origin.profile = "built-in --quick profile";
  json config = default_run_config();
  if (quick) config = merge_config(config, quick_overlay());
  if (file) {
    json user = train::read_config_file(*file, &origin.lines);
    origin.file = *file;
    // A section left empty (`retain_only:`) keeps the profile's.
    for (auto it = user.begin(); it != user.end();)
      it = it.value().is_null() ? user.erase(it) : std::next(it);
    config = merge_config(config, user);
  }
  if (config["retain_only"].is_null()) config["retain_only"] = json::object();
  parse_run_config(config, origin);
  if (origin_out) *origin_out = std::move(origin);
  return config;
}

}  // namespace lethe::pipeline
