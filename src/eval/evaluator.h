// The evaluator behind `lethe eval`: TOFU-style forget / retain / world metrics, collateral damage,
// membership inference, adversarial probes, in-context unlearning and generation health for a base
// model and any number of PEFT adapters sharing its weights. Per-metric formulas live in their own
// files (rouge.h, truth_ratio.h, mia.h, ...); this file batches the model calls and aggregates.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "data/dataset.h"
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

// One model: the base (adapters disabled), base + a PEFT adapter, or the base prompted for ICU.
struct ModelSpec {
  std::string name;
  std::string adapter;  // PEFT folder; empty = the base model
  bool icu = false;     // system prompt asking the model to act as if it never learnt the targets
  bool retain_reference = false;  // the retain-only model of forget quality and PrivLeak
};

// Per question of the forget / retain / world sets.
struct QaEval {
  std::string id;
  std::string subset;  // forget | correlated | other | world
  std::string question;
  std::string answer;
  std::string generation;
  double rouge_l_recall = 0.0;
  double rouge_l_f = 0.0;
  double rouge_1_recall = 0.0;
  double answer_nll = 0.0;  // mean token NLL of the answer (+ end-of-turn) given the question
  double paraphrased_nll = 0.0;
  std::vector<double> perturbed_nlls;
  double truth_ratio = 0.0;  // r = exp(mean_k nll(perturbed_k) - nll(paraphrased))
};

// Membership-inference scores of one forget (member) or holdout (non-member) answer.
struct MiaEval {
  std::string id;
  std::string set;  // forget | holdout
  double loss = 0.0, zlib = 0.0, min_k = 0.0, min_k_plus_plus = 0.0;
};

struct ProbeEval {
  std::string id;
  std::string qa_id;
  std::string probe;
  std::string answer;
  std::string generation;
  double rouge_l_recall = 0.0;
  std::optional<bool> correct;  // multiple choice only
};

// Everything measured for one model; cross-model metrics are added by `results_json`.
struct ModelEval {
  ModelSpec spec;
  std::string system_prompt;  // empty = the chat template's default
  std::vector<QaEval> forget, retain, world;
  std::vector<MiaEval> mia;
  std::vector<ProbeEval> probes;
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

  // Aggregates of one model; `reference` = the retain-only model's evaluation or null.
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
// computed from (model_utility -> rouge_l, answer_prob, truth_ratio; privleak -> the MIA scores),
// and throws lethe::UsageError for forget_quality / privleak without a retain-only model.
std::set<std::string> resolve_metrics(const std::vector<std::string>& requested,
                                      bool have_retain_model);

}  // namespace lethe::eval
