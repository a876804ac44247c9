// The decoder trunk ("model." in checkpoints): embed_tokens, layers.N, norm; builds positions and
// the padding-aware causal mask. Shapes: B batch, T tokens, S key tokens, C hidden.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/decoder_layer.h"

namespace lethe::model {

struct ForwardOptions;

class DecoderModelImpl : public torch::nn::Module {
 public:
  DecoderModelImpl(const ModelConfig& config, bool init_weights);

  // ids [B, T] -> hidden [B, T, C] after the final norm; hidden_states (when non-null) gets L+1
  // entries.
  torch::Tensor forward(const torch::Tensor& ids, const ForwardOptions& options,
                        std::vector<torch::Tensor>* hidden_states);

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
  std::vector<DecoderLayer> layer_list;  // the same modules as `layers`, typed

 private:
  ModelConfig config_;
};
TORCH_MODULE(DecoderModel);

// Padding-aware causal mask: key_mask [B, S] (1 = real token), T queries that are the last T keys
// -> allowed [B, 1, T, S]: key s <= query position and s is a real token; a query always sees
// itself, so padding rows stay finite (their outputs are never read by real rows).
torch::Tensor build_attention_mask(const torch::Tensor& key_mask, int64_t query_tokens);

}  // namespace lethe::model
