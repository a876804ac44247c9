// The decoder trunk: token embeddings, position ids from the attention mask, causal mask, layers,
// norm.
#include "model/decoder_model.h"

#include "core/error.h"
#include "model/causal_lm.h"
#include "model/kv_cache.h"
#include "model/rotary.h"

namespace lethe::model {

torch::Tensor build_attention_mask(const torch::Tensor& key_mask, int64_t query_tokens) {
  const int64_t S = key_mask.size(1), past = S - query_tokens;
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(key_mask.device());
  torch::Tensor q_pos = torch::arange(past, S, opts).unsqueeze(1);  // [T, 1]
  torch::Tensor k_pos = torch::arange(0, S, opts).unsqueeze(0);     // [1, S]
  torch::Tensor causal = k_pos <= q_pos;                            // [T, S]
  torch::Tensor self = k_pos == q_pos;                              // [T, S]
  torch::Tensor real = key_mask.to(torch::kBool).unsqueeze(1);      // [B, 1, S]
  return causal.logical_and(real.logical_or(self)).unsqueeze(1);    // [B, 1, T, S]
}

DecoderModelImpl::DecoderModelImpl(const ModelConfig& config, bool init_weights) : config_(config) {
  embed_tokens =
      register_module("embed_tokens", torch::nn::Embedding(config.vocab_size, config.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layer_list.emplace_back(config, i, init_weights);
    layers->push_back(layer_list.back());
  }
  norm = register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps));
}

torch::Tensor DecoderModelImpl::forward(const torch::Tensor& ids, const ForwardOptions& options,
                                        std::vector<torch::Tensor>* hidden_states) {
  LETHE_CHECK(ids.dim() == 2, "model input ids must be [batch, tokens], got ", ids.sizes());
  const int64_t B = ids.size(0), T = ids.size(1);
  LETHE_CHECK(T > 0, "model input has no tokens");
  KVCache* cache = options.cache;
  const int64_t past = cache != nullptr ? cache->length() : 0;
  LETHE_CHECK(past + T <= config_.max_position_embeddings, "a sequence of ", past + T,
              " tokens exceeds the model's max_position_embeddings (",
              config_.max_position_embeddings, ")");
  if (past > 0) {
    LETHE_CHECK(cache->batch_size() == B, "KV cache holds ", cache->batch_size(),
                " rows, the input has ", B);
  }
  {
    auto [lo, hi] = torch::aminmax(ids);
    const int64_t min_id = lo.item<int64_t>(), max_id = hi.item<int64_t>();
    LETHE_CHECK(min_id >= 0 && max_id < config_.vocab_size, "token id ",
                (min_id < 0 ? min_id : max_id), " is outside the vocabulary [0, ",
                config_.vocab_size, ")");
  }
  auto long_opts = torch::TensorOptions().dtype(torch::kInt64).device(ids.device());
  torch::Tensor mask;  // [B, T]
  if (options.attention_mask.defined()) {
    LETHE_CHECK(options.attention_mask.sizes() == ids.sizes(), "attention_mask shape ",
                options.attention_mask.sizes(), " does not match ids ", ids.sizes());
    mask = options.attention_mask.to(long_opts);
  } else {
    mask = torch::ones({B, T}, long_opts);
  }
  torch::Tensor seen = past > 0 ? cache->seen() : torch::zeros({B}, long_opts);  // [B]
  // Position ids from the cumulative mask (HF generate's rule for left padding).
  torch::Tensor positions = (seen.unsqueeze(1) + mask.cumsum(1) - 1).clamp_min(0);  // [B, T]
  torch::Tensor key_mask = past > 0 ? torch::cat({cache->mask(), mask}, 1) : mask;  // [B, S]
  torch::Tensor allowed = build_attention_mask(key_mask, T);                        // [B, 1, T, S]

  torch::Tensor h = embed_tokens(ids);                                             // [B, T, C]
  torch::Tensor layer_mask = attention_mask_for_layers(allowed, h.scalar_type());  // [B, 1, T, S]
  auto [cos, sin] = rope_cos_sin(rope_inv_freq(config_, ids.device()), positions, h.scalar_type());
  if (hidden_states != nullptr) hidden_states->clear();
  for (auto& layer : layer_list) {
    if (hidden_states != nullptr) hidden_states->push_back(h);
    h = layer(h, cos, sin, layer_mask, cache);
  }
  h = norm(h);
  if (hidden_states != nullptr) hidden_states->push_back(h);
  if (cache != nullptr) cache->commit(T, key_mask, seen + mask.sum(1));
  return h;
}

}  // namespace lethe::model
