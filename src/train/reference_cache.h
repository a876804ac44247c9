// What the training loop needs from the reference model, computed before the first update: each
// side's per-example token log-probs (cached in OUT/checkpoints/reference.safetensors, reloaded on
// resume) and, for hidden-state objectives under `reference: initial`, the initial trainable
// weights; and the reference's hidden states of a batch. Shapes: B batch, T tokens, C hidden.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/batching.h"
#include "model/causal_lm.h"
#include "train/trainer.h"

namespace lethe::train {

class ProcessGroup;  // train/distributed.h

struct ReferenceCache {
  // Per example [len_i] fp32 log p(ids[t] | ids[<t]) (index t as in the example's ids; 0 where not
  // scored); empty for a side the objective does not read.
  std::vector<torch::Tensor> forget, retain, preferred;
  std::map<std::string, torch::Tensor> initial;  // trainable parameters before the first update
};

// What to put in the cache.
struct ReferenceNeeds {
  bool logprobs = false;         // objective spec.needs_reference: forget (+ retain, preferred)
  bool retain = false;           // with logprobs: the retain side too
  bool preferred = false;        // with logprobs: the preferred side too
  bool initial_weights = false;  // hidden states of the initial weights (RMU, reference: initial)
  bool any() const { return logprobs || initial_weights; }
};

// With `resuming`, loads `path` (an error when it is missing or does not match the data); else
// computes what `needs` asks (eval mode, no grad; under the LoRA switch for adapter_disabled) and,
// when `write`, stores it in `path`. Data parallel (`group`): each rank scores its share of the
// examples and one all-reduce per side assembles them. Nothing is done when !needs.any().
ReferenceCache load_or_compute_reference(model::CausalLM& model, const TrainData& data,
                                         const NamedParameters& trainable,
                                         const ReferenceNeeds& needs, ReferenceModel reference,
                                         int64_t batch_size, const std::filesystem::path& path,
                                         bool resuming, bool write, ProcessGroup* group);

// [B, T] fp32 CPU: a batch's rows of one side of the cache, zero-padded.
torch::Tensor gather_reference(const std::vector<torch::Tensor>& side, const data::Batch& batch);

// (L+1) x [B, T, C] hidden states of the reference model on `batch` (no grad, eval mode; the model
// is back in train mode after): the LoRA switch for adapter_disabled, else cache.initial swapped
// into the trainable parameters and back.
std::vector<torch::Tensor> reference_hidden_states(model::CausalLM& model, const data::Batch& batch,
                                                   ReferenceModel reference,
                                                   const NamedParameters& trainable,
                                                   ReferenceCache& cache);

}  // namespace lethe::train
