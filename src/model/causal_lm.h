// CONTRACT (written before the implementation; the model helper fills it in and may extend it, but other
// areas code against these names): the decoder-only causal LM (Qwen2 / Llama) with HF semantics.
// Shapes: B batch, T tokens, C hidden, V vocab, L layers, H heads, Hkv kv heads, D head dim.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/model_config.h"  // struct ModelConfig: fields named as config.json keys

namespace lethe::model {

class KVCache;   // model/kv_cache.h
class DecoderModelImpl;  // model/decoder_model.h: the "model." trunk (embed_tokens, layers, norm)
class LoraLinearImpl;  // model/lora_linear.h: every projection is a LoraLinear (base weight + optional
                       // LoRA A/B, scaling, enabled switch), so an adapter never needs a model copy.

struct ForwardOptions {
  torch::Tensor attention_mask;       // [B, T] 1 = real token, 0 = padding (left or right); undefined = all 1
  KVCache* cache = nullptr;           // when set: append this step's keys/values, attend over the cache
                                      // (attention_mask then covers only this step's T tokens; the
                                      // cache keeps the earlier mask and per-row positions)
  bool output_hidden_states = false;  // fill ForwardOutput::hidden_states
  bool compute_logits = true;         // false: skip lm_head (callers that take `hidden` themselves)
};

struct ForwardOutput {
  torch::Tensor logits;                      // [B, T, V] in the model dtype
  torch::Tensor hidden;                      // [B, T, C] after the final norm
  std::vector<torch::Tensor> hidden_states;  // L+1 entries as HF: embeddings, then after each layer
                                             // (the last one after the final norm)
};

// Module names equal the checkpoint keys: model.embed_tokens, model.layers.N.self_attn.q_proj, ...,
// model.norm, lm_head; so named_parameters() matches model.safetensors with no mapping table.
class CausalLMImpl : public torch::nn::Module {
 public:
  // init_weights = false leaves the weights uninitialised (load_causal_lm fills them).
  explicit CausalLMImpl(const ModelConfig& config, bool init_weights = true);

  // ids [B, T] int64 -> logits [B, T, V] (+ hidden states on request)
  ForwardOutput forward(const torch::Tensor& ids, const ForwardOptions& options = {});

  // The final projection alone: hidden [..., C] -> logits [..., V] (tied or untied lm_head).
  torch::Tensor lm_head_forward(const torch::Tensor& hidden);

  const ModelConfig& config() const { return config_; }

  // Every LoRA-capable projection by its checkpoint prefix ("model.layers.0.self_attn.q_proj").
  std::vector<std::pair<std::string, std::shared_ptr<LoraLinearImpl>>> projections();

  // The "model." trunk, and the untied "lm_head" (nullptr when tie_word_embeddings).
  std::shared_ptr<DecoderModelImpl> decoder() const { return model_; }
  std::shared_ptr<LoraLinearImpl> lm_head() const { return lm_head_; }

 private:
  ModelConfig config_;
  std::shared_ptr<DecoderModelImpl> model_;
  std::shared_ptr<LoraLinearImpl> lm_head_;
};
TORCH_MODULE(CausalLM);

// Loads a model folder (config.json + safetensors, single or sharded) or a model id found in the local
// HF cache. Weights converted to `dtype` and moved to `device`. Throws lethe::Error naming the file.
// Every expected key must be present with its shape; unexpected keys are an error listing them.
// The model is returned in eval mode.
CausalLM load_causal_lm(const std::string& model_path_or_id, torch::ScalarType dtype,
                        torch::Device device);

// Throws lethe::Error ("WHERE: a model of N parameters in DTYPE needs X of memory but only Y is
// available ...") when `copies` copies of the weights (1 for inference; training keeps gradients
// and optimizer moments too) would not fit in the memory left. Checked before anything is
// allocated; CPU only (a CUDA device reports its own out-of-memory error).
void check_model_memory(const ModelConfig& config, torch::ScalarType dtype, torch::Device device,
                        const std::string& where, double copies = 1.0);

// Puts `weights` (checkpoint keys) into the model's parameters with the same checks, converted to
// `dtype` (default: each parameter's current one) on each parameter's device; `where` names the
// source in errors.
void load_weights(CausalLMImpl& model, const std::map<std::string, torch::Tensor>& weights,
                  const std::string& where, std::optional<torch::ScalarType> dtype = std::nullopt);

// Teacher-forced log-probabilities, the base of every metric and objective.
// ids [B, T], attention_mask [B, T], loss_mask [B, T] (1 where ids[t] is scored, t >= 1)
// -> logp_token [B, T] with logp_token[b, t] = log p(ids[b,t] | ids[b,<t]) where loss_mask is 1, else 0
// (also 0 where ids[b, t-1] is padding, i.e. the first real token of a left-padded row).
// Computes the lm_head only at scored positions. Differentiable (callers use it for training).
torch::Tensor token_logprobs(CausalLM& model, const torch::Tensor& ids,
                             const torch::Tensor& attention_mask, const torch::Tensor& loss_mask,
                             std::vector<torch::Tensor>* hidden_states = nullptr);

}  // namespace lethe::model
