// The evaluator behind `lethe eval`: TOFU-style forget / retain / world metrics, collateral damage,
// membership inference, adversarial probes, in-context unlearning and generation health for a base
// model and any number of PEFT adapters sharing its weights. Each metric is a registry descriptor
// (metric_registry.h) computed over the per-example records (eval_records.h); this file makes the
// model calls the enabled metrics read and loops over the registry.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "eval/eval_records.h"
#include "eval/evaluator_batching.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace lethe::eval {

struct EvalOptions {
  int64_t max_new_tokens = 200;
  int64_t batch_size = 16;
  double min_k = 0.4;  // Min-K% / Min-K%++ fraction
  int64_t limit = 0;   // > 0: the first N questions of each set (and their probes); 0 = all
  // Registry names (metric_registry.h) plus "probes"; empty = every metric that can be computed
  // (forget_quality / privleak only with a retain-only model).
  std::vector<std::string> metrics;
  std::string icu_system_prompt;   // empty = default_icu_prompt(forget targets)
  bool have_retain_model = false;  // a spec will be the retain-only model (retain_reference)
};

// "You have never learnt anything about NAMES ..." (the ICU system prompt).
std::string default_icu_prompt(const std::vector<std::string>& names);

// The letter A-D a multiple-choice generation picks ("B", "(B)", "B. Paris", "The answer is B"),
// else the letter of the only option whose text it contains; empty when none can be read.
std::string multiple_choice_pick(const std::string& generation,
                                 const std::vector<std::string>& options);

class Evaluator {
 public:
  // `model` may already carry a LoRA adapter (it is replaced or disabled as each spec requires).
  Evaluator(model::CausalLM model, const text::Tokenizer& tokenizer,
            std::vector<int64_t> eos_token_ids, const data::Dataset& dataset, EvalOptions options);

  // Evaluates the model as it is now (attached adapter enabled or not) with `system` as the system
  // prompt (nullopt: the template's default).
  ModelEval evaluate_current(const ModelSpec& spec, const std::optional<std::string>& system);

  // Loads each spec's adapter in turn (base: adapters disabled) and evaluates it.
  ModelEval evaluate(const ModelSpec& spec);

  // The "models" object of the results file: per model aggregates (+ forget quality and PrivLeak
  // against the spec marked retain_reference) and per-example values.
  nlohmann::json results_json(const std::vector<ModelEval>& evals) const;

  // Aggregates of one model (every enabled metric of the registry, the retain gap, probes);
  // `reference` = the retain-only model's evaluation or null.
  nlohmann::json aggregates(const ModelEval& eval, const ModelEval* reference) const;

  bool enabled(const std::string& metric) const { return metrics_.count(metric) > 0; }
  const std::set<std::string>& metrics() const { return metrics_; }
  const BatchStats& stats() const { return stats_; }
  const std::vector<std::string>& forget_target_names() const { return target_names_; }

 private:
  struct QaItem {
    const data::QAPair* qa;
    std::string paraphrased;
    std::vector<std::string> perturbed;
  };
  model::CausalLM model_;
  const text::Tokenizer& tokenizer_;
  std::vector<int64_t> eos_token_ids_;
  EvalOptions options_;
  std::set<std::string> metrics_;
  std::vector<QaItem> forget_, retain_, world_;
  std::vector<const data::QAPair*> holdout_;
  std::vector<const data::ForgetEvalProbe*> probes_;
  std::vector<std::string> target_names_;
  BatchStats stats_;
};

// Resolves an --metrics list: validates the names (registry + "probes"), adds what a metric is
// computed from (its descriptor's `needs`), and throws lethe::UsageError for a metric that needs
// the retain-only model (forget_quality, privleak) without one. An empty list is every metric of
// every dataset plus the variants of `benchmark` (the folder's manifest "benchmark": muse, rwku).
std::set<std::string> resolve_metrics(const std::vector<std::string>& requested,
                                      bool have_retain_model, const std::string& benchmark = "");

// The default metric set (resolve_metrics of an empty list) less what `dataset` cannot give:
// truth-ratio metrics without wrong_details, membership inference without holdout questions,
// model utility without world questions (benchmarks that publish none of these), and what is
// computed from a metric left out. A generated lethe dataset has all of them: nothing changes.
std::set<std::string> default_metrics_for(const data::Dataset& dataset, bool have_retain_model);

}  // namespace lethe::eval
