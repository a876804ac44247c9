// CONTRACT (written before the implementations): a training objective is a pure function of a
// batch's log-probabilities (and, for RMU-like methods, hidden states); fine-tuning and every
// unlearning method differ only in their objective, looked up by name in the explicit registry
// (objectives/registry.cpp). Shapes: B batch, T tokens, C hidden, L decoder layers.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lethe::objectives {

// One side of a batch (forget, retain, or preferred/rejected answers) after the model ran on it.
struct SideLogprobs {
  torch::Tensor
      logp_token;  // [B, T] log p of each target token, 0 where loss_mask is 0 (differentiable)
  torch::Tensor loss_mask;  // [B, T] 1 on answer tokens (+ end-of-turn), float
  torch::Tensor
      logp_ref;  // [B] cached reference sequence log-prob (sum over answer tokens), or undefined
  torch::Tensor logp_ref_token;  // [B, T] cached reference token log-probs (for KL), or undefined
  // When the objective asks for them: L+1 entries [B, T, C] in HF's layout (embeddings, then the
  // output of each decoder layer), so decoder layer l is entry l+1. Entries an objective does not
  // read may be left undefined. hidden_ref: the same from the frozen model (adapter off, no grad).
  std::vector<torch::Tensor> hidden_states;
  std::vector<torch::Tensor> hidden_ref;
  bool defined() const { return logp_token.defined(); }
};

struct ObjectiveInputs {
  SideLogprobs forget;     // the forget set (or the fine-tuning data)
  SideLogprobs retain;     // retain batch, when the objective needs one
  SideLogprobs preferred;  // DPO-style preferred answers (refusals) for the forget questions
};

struct ObjectiveOutput {
  torch::Tensor loss;                   // scalar to minimise
  std::map<std::string, double> parts;  // named components for metrics.jsonl ("loss_forget", ...)
};

// Hyper-parameters a method reads (beta, lambda/retain_weight, gamma, alpha, ...), with defaults.
using ObjectiveParams = std::map<std::string, double>;

struct ObjectiveSpec {
  std::string name;  // registry key == CLI value == config value
  std::string description;
  bool needs_retain = false;
  bool needs_reference = false;  // cached logp_ref / logp_ref_token of the adapter-disabled model
  bool needs_preferred = false;  // refusal answers for forget questions
  bool needs_hidden_states = false;  // forget/retain hidden_states, retain hidden_ref (RMU)
  // With needs_hidden_states: the decoder layers whose outputs (entry l + 1) the loss reads, given
  // resolved params; data-parallel training exchanges only these between ranks (unset: all).
  std::function<std::vector<int64_t>(const ObjectiveParams&)> hidden_layers;
  // The decoder layers whose parameters train when the run names none (TrainOptions::
  // trainable_layers empty), given params; unset: every trainable parameter. RMU: its updated
  // layers (objectives::rmu_updated_layers), the others stay frozen.
  std::function<std::vector<int64_t>(const ObjectiveParams&)> trained_layers;
  // task_vector: `loss` trains a fresh forget-only LoRA, which is then negated onto the fine-tuned
  // adapter with objectives::negate_task_vector (objectives/task_vector.h).
  bool negates_adapter = false;
  ObjectiveParams defaults;  // every accepted parameter with its default
  // The parameter weighting the retain term ("retain_weight"; RMU's "alpha"), empty when none: with
  // that weight at 0 the method needs no retain set.
  std::string retain_weight_param;
  // Throws lethe::UsageError for out-of-range values (beta <= 0, ...); given resolved params.
  std::function<void(const ObjectiveParams&)> check;
  // Missing params take their defaults (the registry wraps every loss with resolve_params).
  std::function<ObjectiveOutput(const ObjectiveInputs&, const ObjectiveParams&)> loss;
};

// The explicit registry: all objectives, in a stable order.
const std::vector<ObjectiveSpec>& all_objectives();
// Throws lethe::UsageError listing the valid names when `name` is unknown.
const ObjectiveSpec& find_objective(const std::string& name);
// The registry keys in order ("sft", "grad_ascent", ...).
std::vector<std::string> objective_names();

// spec.defaults overridden by `given`; throws lethe::UsageError naming the method when a key is
// unknown (listing the valid ones) or a value is out of range (spec.check).
ObjectiveParams resolve_params(const ObjectiveSpec& spec, const ObjectiveParams& given);

// Whether a run must provide a retain set with these (resolved) params: a method whose retain term
// is weighted by spec.retain_weight_param needs none when that weight is 0.
bool requires_retain(const ObjectiveSpec& spec, const ObjectiveParams& resolved);

}  // namespace lethe::objectives
