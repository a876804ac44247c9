// Grouped-query self-attention of Qwen2 / Llama (HF eager semantics): q/k/v/o LoraLinear
// projections, RoPE, optional KV cache. Shapes: B batch, T query tokens, S key tokens, H heads, Hkv
// kv heads, D head dim.
#pragma once
#include <torch/torch.h>

#include "model/lora_linear.h"
#include "model/model_config.h"

namespace lethe::model {

class KVCache;

// allowed [B, 1, T, S] bool (true = attend; every row has at least one true) -> the mask
// attention_scores_softmax is fastest with, built once per forward for all layers: an additive bias
// (0 / -inf) in `dtype` on libtorch 1.x, `allowed` itself where SDPA takes it.
torch::Tensor attention_mask_for_layers(const torch::Tensor& allowed, torch::ScalarType dtype);

// softmax(q k^T / sqrt(D) masked) v with GQA: q [B, H, T, D], k/v [B, Hkv, S, D], mask [B, 1, T, S]
// either `allowed` (bool) or attention_mask_for_layers(allowed) -> [B, H, T, D].
torch::Tensor attention_scores_softmax(const torch::Tensor& q, const torch::Tensor& k,
                                       const torch::Tensor& v, const torch::Tensor& mask);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& config, int64_t layer_index, bool init_weights);

  // hidden [B, T, C], cos/sin [B, T, D], mask [B, 1, T, S] (see attention_scores_softmax)
  // -> [B, T, C]
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& cos,
                        const torch::Tensor& sin, const torch::Tensor& mask, KVCache* cache);

  LoraLinear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t layer_index_;
  int64_t num_heads_;
  int64_t num_kv_heads_;
  int64_t head_dim_;
};
TORCH_MODULE(Attention);

}  // namespace lethe::model
