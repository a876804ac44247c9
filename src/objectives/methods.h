// Every objective's spec factory (one .cpp each, listed in registry.cpp) and the pure loss terms
// that more than one method shares. Shapes: B batch, T tokens, C hidden.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "objectives/objective.h"

namespace lethe::objectives {

ObjectiveSpec sft_objective();          // sft.cpp
ObjectiveSpec grad_ascent_objective();  // grad_ascent.cpp
ObjectiveSpec grad_diff_objective();    // grad_diff.cpp
ObjectiveSpec ga_kl_objective();        // ga_kl.cpp
ObjectiveSpec npo_objective();          // npo.cpp
ObjectiveSpec npo_gd_objective();       // npo_gd.cpp
ObjectiveSpec npo_kl_objective();       // npo_kl.cpp
ObjectiveSpec simnpo_objective();       // simnpo.cpp
ObjectiveSpec dpo_objective();          // dpo.cpp
ObjectiveSpec idk_dpo_objective();      // idk_dpo.cpp
ObjectiveSpec rt_objective();           // rt.cpp
ObjectiveSpec rmu_objective();          // rmu.cpp
ObjectiveSpec task_vector_objective();  // task_vector.cpp

// NPO (Zhang et al. 2024): -(2/beta) mean_b log sigmoid(-beta (logp_b - logp_ref_b)).
// logp, logp_ref [B] sequence log-probs -> scalar.
torch::Tensor npo_term(const torch::Tensor& logp, const torch::Tensor& logp_ref, double beta);
// npo_term on inputs.forget (checked), filling parts "loss_forget" and "logratio_forget" (mean of
// logp - logp_ref); shared by npo, npo_gd and npo_kl.
torch::Tensor npo_forget_loss(const ObjectiveInputs& inputs, double beta, const std::string& method,
                              ObjectiveOutput& out);

// SimNPO (Fan et al. 2024): -(2/beta) mean_b log sigmoid(-(beta/|y_b|) logp_b - gamma).
// logp [B] sequence log-probs, lengths [B] answer tokens -> scalar.
torch::Tensor simnpo_term(const torch::Tensor& logp, const torch::Tensor& lengths, double beta,
                          double gamma);

// DPO (Rafailov et al. 2023): -mean_b log sigmoid(beta ((w_b - w_ref_b) - (l_b - l_ref_b))) with
// w = log pi(preferred), l = log pi(rejected); all [B] -> scalar.
torch::Tensor dpo_term(const torch::Tensor& logp_preferred, const torch::Tensor& logp_ref_preferred,
                       const torch::Tensor& logp_rejected, const torch::Tensor& logp_ref_rejected,
                       double beta);

// dpo_term with preferred = inputs.preferred (refusals) and rejected = inputs.forget (the true
// answers), both checked for logp_ref and equal B; parts "loss_forget", "logratio_preferred",
// "logratio_rejected".
torch::Tensor dpo_forget_loss(const ObjectiveInputs& inputs, double beta, const std::string& method,
                              ObjectiveOutput& out);

// RMU's fixed random direction (Li et al. 2024, WMDP code): u = r / ||r|| with r ~ U[0, 1)^C drawn
// from a CPU generator seeded with `seed`, so u is the same on every device and run. -> [C] fp32.
torch::Tensor rmu_direction(int64_t hidden_size, uint64_t seed);
// The decoder layers RMU updates for resolved params: layer - num_updated_layers + 1 .. layer,
// clipped at 0 (WMDP: layer 7 -> 5, 6, 7). The loop freezes every other trainable parameter.
std::vector<int64_t> rmu_updated_layers(const ObjectiveParams& params);

}  // namespace lethe::objectives
