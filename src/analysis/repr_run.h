// `lethe repr` as a library call: per-layer drift and cosine of hidden states between the
// fine-tuned model and each unlearned model on forget and retain QA pairs (teacher-forced), the
// logit lens on the forgotten answer's first token, and a linear probe for the incident type.
// Shapes: N examples, A answer tokens, C hidden, L layers (L+1 hidden-state entries).
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analysis/linear_probe.h"
#include "model/causal_lm.h"

namespace lethe::analysis {

// One teacher-forced question + answer.
struct ReprExample {
  std::vector<int64_t> ids;  // prompt then answer tokens
  int64_t answer_start = 0;  // index of the first answer token (>= 1)
  int64_t answer_end = 0;    // one past the last answer token scored for drift
  int64_t label = -1;        // probe class, -1 = none
  bool forget = false;       // forget set (else retain)
  bool correlated = false;   // a retain question on a forget target's correlated facts
};

// What one model computes on the examples (CPU, fp32).
struct ReprStates {
  std::vector<torch::Tensor> answer_hidden;  // per example [L+1, A, C]
  torch::Tensor question_hidden;             // [N, L+1, C] at the last question token
  torch::Tensor lens_rank;                   // [L+1, N] rank of the first answer token (1 = top)
  torch::Tensor lens_prob;                   // [L+1, N]
  // [N, L, I] MLP neuron activations (mlp_activations.h) summed over the answer positions the
  // drift uses; undefined unless collected with neurons = true.
  torch::Tensor answer_neurons;
};

// Runs the model (its LoRA state as it is) on the examples in right-padded batches.
ReprStates collect_states(model::CausalLM& model, const std::vector<ReprExample>& examples,
                          int64_t batch_size, bool neurons = false);

// Per-layer mean drift / cosine of `states` against `reference` over the answer positions of the
// examples selected by `forget` -> {"drift": [L+1], "cosine": [L+1], "positions": n}.
nlohmann::json drift_json(const ReprStates& states, const ReprStates& reference,
                          const std::vector<ReprExample>& examples, bool forget);

// Neuron-level change of `states` against `reference` (neuron_change.h), per MLP layer 1..L, on
// the forget, correlated retain and other retain questions: each set's mean activation per neuron
// over its answer positions, top-k neurons by |Δ|, their share of the total |Δ|, and for the
// retain sets the overlap of their top-k with the forget set's (chance k / I). Layout in
// docs/robustness.md.
nlohmann::json neurons_json(const ReprStates& states, const ReprStates& reference,
                            const std::vector<ReprExample>& examples);

// Layer selectors: "last" (L), "middle" (L / 2), "all", or an index 0..L (0 = embeddings).
// Throws UsageError for anything else or an index out of range.
int64_t resolve_layer(const std::string& selector, int64_t num_layers);

struct ReprConfig {
  std::string model;
  std::string reference_adapter;      // the fine-tuned model (PEFT folder)
  std::vector<std::string> adapters;  // unlearned models
  std::vector<std::string> names;     // one per adapter (default: folder name)
  std::string data;
  std::string out = "repr_results.json";
  std::vector<std::string> layers = {"last", "middle", "all"};
  std::string dtype = "float32";
  std::string device = "cpu";
  int64_t batch_size = 8;
  int64_t limit = 0;    // > 0: first N forget and N retain questions
  bool neurons = true;  // the neuron-level change ("neurons" per model)
  ProbeOptions probe;
};

// Writes `out` (all layers) and <out stem>_<selector>.json per non-"all" selector; returns the
// all-layer document.
nlohmann::json run_repr(const ReprConfig& config);

}  // namespace lethe::analysis
