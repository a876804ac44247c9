// Autoregressive generation: greedy or sampling (temperature, top-k, top-p, seeded), batched with
// left padding, KV cache or full recomputation, per-row stop on eos ids or max_new_tokens.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "model/causal_lm.h"

namespace lethe::model {

struct GenerateOptions {
  int64_t max_new_tokens = 128;
  bool do_sample = false;    // false: greedy (argmax)
  double temperature = 1.0;  // sampling only; > 0
  double top_p = 1.0;        // sampling only; nucleus in (0, 1]
  int64_t top_k = 0;         // sampling only; 0 = off
  uint64_t seed = 0;         // sampling generator seed (the run is reproducible for a given batch)
  std::vector<int64_t>
      eos_token_ids;          // a row stops after emitting any of these (kept in its output)
  int64_t pad_token_id = -1;  // left padding / finished rows; -1 = first eos id, else 0
  bool use_cache = true;      // false: recompute the whole sequence every step (tests, benchmarks)
};

struct GenerateResult {
  std::vector<std::vector<int64_t>>
      tokens;                             // new tokens per row (the eos that stopped it included)
  std::vector<std::string> stop_reasons;  // per row: "eos" | "length" (max_new_tokens or the
                                          // model's max_position_embeddings reached)
};

// prompts: token ids per row (any lengths >= 1). Runs without autograd.
GenerateResult generate(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                        const GenerateOptions& options);

// HF's warpers on one step's logits [B, V] (fp32): temperature, then top-k, then top-p; removed
// entries become -inf.
torch::Tensor apply_sampling_filters(torch::Tensor logits, double temperature, int64_t top_k,
                                     double top_p);

// eos ids a model folder declares: config.json eos_token_id plus generation_config.json's (int or
// list).
std::vector<int64_t> declared_eos_token_ids(const std::filesystem::path& folder,
                                            const ModelConfig& config);

}  // namespace lethe::model
