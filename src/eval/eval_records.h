// The per-example records of one evaluation: what the model calls produced for each question, MIA
// answer and probe, plus the per-example values the metrics derive from them. Metrics
// (metric_registry.h) read these; only the evaluator (evaluator.h) fills them from a model.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lethe::eval {

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
  std::string generation;   // greedy; empty when no enabled metric reads generations
  double answer_nll = 0.0;  // mean token NLL of the answer (+ end-of-turn) given the question
  // Teacher forcing, one entry per scored answer token (the end-of-turn token last): 1 when the
  // model's argmax at that step is the answer token.
  std::vector<uint8_t> answer_argmax_match;
  double paraphrased_nll = 0.0;
  std::vector<double> perturbed_nlls;
  // Per-example metric values by result key ("rouge_l_recall", "truth_ratio", ...), written by
  // each enabled metric's per_example function; they become the per-example rows' fields.
  std::map<std::string, double> values;
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

// Everything measured for one model; cross-model metrics are added by the aggregates.
struct ModelEval {
  ModelSpec spec;
  std::string system_prompt;  // empty = the chat template's default
  std::vector<QaEval> forget, retain, world;
  std::vector<MiaEval> mia;
  std::vector<ProbeEval> probes;
};

}  // namespace lethe::eval
