// CONTRACT (written before the implementations): a training objective is a pure function of a batch's
// log-probabilities (and, for RMU-like methods, hidden states); fine-tuning and every unlearning method
// differ only in their objective, looked up by name in the explicit registry (objectives/registry.cpp).
// Shapes: B batch, T tokens, C hidden.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace lethe::objectives {

// One side of a batch (forget, retain, or preferred/rejected answers) after the model ran on it.
struct SideLogprobs {
  torch::Tensor logp_token;  // [B, T] log p of each target token, 0 where loss_mask is 0 (differentiable)
  torch::Tensor loss_mask;   // [B, T] 1 on answer tokens (+ end-of-turn), float
  torch::Tensor logp_ref;    // [B] cached reference sequence log-prob (sum over answer tokens), or undefined
  torch::Tensor logp_ref_token;  // [B, T] cached reference token log-probs (for KL), or undefined
  std::vector<torch::Tensor> hidden_states;  // per layer [B, T, C] when the objective asks for them
  std::vector<torch::Tensor> hidden_ref;     // frozen-model hidden states (RMU), when asked
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
  std::string name;                     // registry key == CLI value == config value
  std::string description;
  bool needs_retain = false;
  bool needs_reference = false;         // cached logp_ref / logp_ref_token of the adapter-disabled model
  bool needs_preferred = false;         // refusal answers for forget questions
  bool needs_hidden_states = false;
  ObjectiveParams defaults;             // every accepted parameter with its default
  std::function<ObjectiveOutput(const ObjectiveInputs&, const ObjectiveParams&)> loss;
};

// The explicit registry: all objectives, in a stable order.
const std::vector<ObjectiveSpec>& all_objectives();
// Throws lethe::UsageError listing the valid names when `name` is unknown.
const ObjectiveSpec& find_objective(const std::string& name);

}  // namespace lethe::objectives
