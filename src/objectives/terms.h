// Building blocks shared by the objectives: input checks, sequence log-probs, token-mean NLL, the
// per-token KL estimator, masked activation MSE, parameter access. Pure tensor functions, no model.
// Shapes: B batch, T tokens, C hidden.
#pragma once
#include <torch/torch.h>

#include <string>

#include "objectives/objective.h"

namespace lethe::objectives {

// What a method reads from one side; check_side throws lethe::Error naming the method, the side and
// the missing or mis-shaped field.
struct SideNeeds {
  bool logp_ref = false;        // [B]
  bool logp_ref_token = false;  // [B, T]
};
inline constexpr SideNeeds kNeedsRef{true, false};
inline constexpr SideNeeds kNeedsRefToken{false, true};
void check_side(const SideLogprobs& side, const std::string& method, const std::string& side_name,
                SideNeeds needs = {});

// Sum of log p over the answer tokens: [B, T] -> [B] (fp32; differentiable).
torch::Tensor sequence_logp(const SideLogprobs& side);
// Number of answer tokens per example: [B, T] -> [B] (fp32). Throws when an example has none.
torch::Tensor answer_lengths(const SideLogprobs& side, const std::string& method,
                             const std::string& side_name);

// Mean NLL over every answer token of the batch (HF's causal-LM loss with ignored labels): scalar.
torch::Tensor mean_token_nll(const SideLogprobs& side, const std::string& method,
                             const std::string& side_name);

// KL(pi_ref || pi_theta) estimated on the target tokens y_t only (Schulman's k3 estimator, >= 0):
// mean over answer tokens of exp(d_t) - 1 - d_t with d_t = log pi_theta(y_t) - log pi_ref(y_t):
// scalar.
torch::Tensor kl_ref_token(const SideLogprobs& side, const std::string& method,
                           const std::string& side_name);

// open-unlearning's compute_activation_loss: per example, the mean over answer tokens of the mean
// over C of (h - target)^2; then the mean over examples. h [B, T, C], target [B, T, C] or [C], mask
// [B, T].
torch::Tensor masked_activation_mse(const torch::Tensor& h, const torch::Tensor& target,
                                    const torch::Tensor& mask);

// The resolved value of one parameter (throws lethe::Error when absent: a registry bug).
double param(const ObjectiveParams& params, const std::string& key);
// Range checks for spec.check: throw lethe::UsageError "METHOD: parameter KEY must be ..., got V".
void check_positive(const ObjectiveParams& params, const std::string& key,
                    const std::string& method);
void check_non_negative(const ObjectiveParams& params, const std::string& key,
                        const std::string& method);
void check_integer(const ObjectiveParams& params, const std::string& key, const std::string& method,
                   double min_value);

// The weighted retain NLL term used by grad_diff, npo_gd, simnpo, idk_dpo, rt: adds "loss_retain"
// to parts and returns weight * NLL, or an undefined tensor when weight is 0 (the retain side is
// then not read). Throws when the weight is non-zero and inputs.retain is empty.
torch::Tensor weighted_retain_nll(const ObjectiveInputs& inputs, double weight,
                                  const std::string& method, ObjectiveOutput& out);

// The weighted retain KL term of ga_kl and npo_kl: kl_ref_token on inputs.retain, part "kl_retain";
// undefined when weight is 0.
torch::Tensor weighted_retain_kl(const ObjectiveInputs& inputs, double weight,
                                 const std::string& method, ObjectiveOutput& out);

// loss = a (+ b when defined).
torch::Tensor add_defined(const torch::Tensor& a, const torch::Tensor& b);

// A detached scalar as double, for ObjectiveOutput::parts.
double scalar(const torch::Tensor& t);

}  // namespace lethe::objectives
