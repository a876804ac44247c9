// Self-attention: projections, RoPE, cache append, masked softmax attention (SDPA on libtorch >=
// 2).
#include "model/attention.h"

#include <torch/version.h>

#include <cmath>

// CMake passes the version of the libtorch it links; other torch headers earlier on the include
// path would pick the wrong backend below and mismatch the library.
#if defined(LETHE_TORCH_CMAKE_MAJOR) && (TORCH_VERSION_MAJOR != LETHE_TORCH_CMAKE_MAJOR || \
                                         TORCH_VERSION_MINOR != LETHE_TORCH_CMAKE_MINOR)
#error "the torch headers on the include path are not those of the libtorch CMake found"
#endif

#include "core/torch_compat.h"
#include "model/kv_cache.h"
#include "model/rotary.h"

namespace lethe::model {

torch::Tensor attention_mask_for_layers(const torch::Tensor& allowed, torch::ScalarType dtype) {
  if constexpr (compat::has_scaled_dot_product_attention) return allowed;
  return torch::zeros(allowed.sizes(), allowed.options().dtype(dtype))
      .masked_fill_(allowed.logical_not(), -std::numeric_limits<double>::infinity());
}

torch::Tensor attention_scores_softmax(const torch::Tensor& q, const torch::Tensor& k,
                                       const torch::Tensor& v, const torch::Tensor& mask) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t Hkv = k.size(1), S = k.size(2), rep = H / Hkv;
  if constexpr (compat::has_scaled_dot_product_attention) {
    torch::Tensor k_full =
        rep == 1 ? k : k.unsqueeze(2).expand({B, Hkv, rep, S, D}).reshape({B, H, S, D});
    torch::Tensor v_full =
        rep == 1 ? v : v.unsqueeze(2).expand({B, Hkv, rep, S, D}).reshape({B, H, S, D});
    return compat::scaled_dot_product_attention(q, k_full, v_full, mask);
  }
  torch::Tensor bias = mask.scalar_type() == torch::kBool
                           ? attention_mask_for_layers(mask, q.scalar_type())
                           : mask;  // [B, 1, T, S]
  // Query heads sharing a kv head are stacked along the token axis, so k/v are never repeated.
  torch::Tensor q_grouped = q.reshape({B * Hkv, rep * T, D});
  torch::Tensor scores = torch::bmm(q_grouped, k.reshape({B * Hkv, S, D}).transpose(1, 2));
  // scores / sqrt(D) + bias in one pass: [B, Hkv, rep, T, S]
  scores =
      torch::add(bias.unsqueeze(1), scores.view({B, Hkv, rep, T, S}), 1.0 / std::sqrt(double(D)));
  // HF eager: softmax in fp32, then back to the activation dtype.
  torch::Tensor probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
  return torch::bmm(probs.view({B * Hkv, rep * T, S}), v.reshape({B * Hkv, S, D}))
      .view({B, H, T, D});
}

AttentionImpl::AttentionImpl(const ModelConfig& config, int64_t layer_index, bool init_weights)
    : layer_index_(layer_index),
      num_heads_(config.num_attention_heads),
      num_kv_heads_(config.num_key_value_heads),
      head_dim_(config.head_dim) {
  const int64_t C = config.hidden_size;
  q_proj = register_module(
      "q_proj", LoraLinear(C, num_heads_ * head_dim_, config.has_qkv_bias(), init_weights));
  k_proj = register_module(
      "k_proj", LoraLinear(C, num_kv_heads_ * head_dim_, config.has_qkv_bias(), init_weights));
  v_proj = register_module(
      "v_proj", LoraLinear(C, num_kv_heads_ * head_dim_, config.has_qkv_bias(), init_weights));
  o_proj = register_module(
      "o_proj", LoraLinear(num_heads_ * head_dim_, C, config.has_o_bias(), init_weights));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& hidden, const torch::Tensor& cos,
                                     const torch::Tensor& sin, const torch::Tensor& mask,
                                     KVCache* cache) {
  const int64_t B = hidden.size(0), T = hidden.size(1);
  std::vector<torch::Tensor> qkv =
      forward_shared_input(hidden, {q_proj.get(), k_proj.get(), v_proj.get()});
  torch::Tensor q = qkv[0].view({B, T, num_heads_, head_dim_}).transpose(1, 2);
  torch::Tensor k = qkv[1].view({B, T, num_kv_heads_, head_dim_}).transpose(1, 2);
  torch::Tensor v = qkv[2].view({B, T, num_kv_heads_, head_dim_}).transpose(1, 2);
  q = apply_rope(q, cos, sin);                                               // [B, H, T, D]
  k = apply_rope(k, cos, sin);                                               // [B, Hkv, T, D]
  if (cache != nullptr) std::tie(k, v) = cache->append(layer_index_, k, v);  // [B, Hkv, S, D]
  torch::Tensor out = attention_scores_softmax(q, k, v, mask);               // [B, H, T, D]
  return o_proj(out.transpose(1, 2).reshape({B, T, num_heads_ * head_dim_}));
}

}  // namespace lethe::model
