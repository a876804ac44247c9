// A linear projection with an optional LoRA adapter (Hu et al. 2021, PEFT semantics): the frozen
// base weight (+ bias) plus scaling * B A, with dropout on the adapter input, an enabled switch and
// merge/unmerge. Attaching adapters to a whole model, PEFT key names and adapter files live in
// model/lora.h.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace lethe::model {

struct LoraOptions {
  int64_t r = 8;
  double lora_alpha = 16.0;
  double lora_dropout = 0.0;
  bool use_rslora = false;  // scaling = alpha / sqrt(r) instead of alpha / r
  // dtype of lora_A / lora_B; undefined (default) = the base weight's dtype. bf16 training keeps
  // them fp32.
  std::optional<torch::ScalarType> dtype;
};

// Parameter names: "weight" [out, in], "bias" [out] (when present), and after attach_lora
// "lora_A" [r, in], "lora_B" [out, r] (PEFT's lora_A.weight / lora_B.weight).
class LoraLinearImpl : public torch::nn::Module {
 public:
  // init_weights = false leaves the base weight uninitialised (it is about to be loaded).
  LoraLinearImpl(int64_t in_features, int64_t out_features, bool bias, bool init_weights = true);

  // [..., in] -> [..., out]: x W^T + b + scaling * (dropout(x) A^T) B^T (the LoRA term when
  // attached, enabled and not merged). x A^T and the adapter's gradients are computed in the
  // adapter dtype; the term is added in x's dtype.
  torch::Tensor forward(const torch::Tensor& x);
  // True when forward runs the fused LoRA node (model/lora_linear.cpp): an adapter is active, no
  // dropout is being applied and autocast is off.
  bool runs_fused(const torch::Tensor& x) const;

  // Adds lora_A / lora_B with PEFT's default init (A Kaiming-uniform a = sqrt(5), B zeros) on the
  // weight's device and freezes weight and bias. Throws when an adapter is already attached.
  void attach_lora(const LoraOptions& options);
  // Removes the adapter (unmerging first when merged); the base weight stays frozen.
  void detach_lora();
  // PEFT's init again: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform a = sqrt(5)), B = 0.
  void reset_lora_parameters();

  bool has_lora() const { return lora_A.defined(); }
  // Disabled = the base model (the NPO/DPO/KL reference). Throws when disabling a merged adapter.
  void set_enabled(bool enabled);
  bool enabled() const { return enabled_; }

  // weight += scaling * B A (computed in fp32, cast to the weight dtype) and the LoRA term is
  // skipped; unmerge() subtracts it again. Both are no-ops when already in the requested state.
  void merge();
  void unmerge();
  bool merged() const { return merged_; }

  // scaling * B A as [out, in] in fp32 (the weight delta the adapter represents).
  torch::Tensor delta_weight() const;

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  double scaling() const { return scaling_; }
  const LoraOptions& lora_options() const { return options_; }

  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out] or undefined
  torch::Tensor lora_A;  // [r, in] or undefined
  torch::Tensor lora_B;  // [out, r] or undefined

 private:
  int64_t in_features_;
  int64_t out_features_;
  LoraOptions options_;
  double scaling_ = 0.0;
  bool enabled_ = true;
  bool merged_ = false;
};
TORCH_MODULE(LoraLinear);

// The projections of one input (q/k/v, gate/up): x [..., in] -> {projections[i]->forward(x)},
// computed as one autograd node (one GEMM for all the A matrices, one input-gradient buffer) when
// every projection runs_fused() with the same adapter dtype; projection by projection otherwise.
std::vector<torch::Tensor> forward_shared_input(const torch::Tensor& x,
                                                const std::vector<LoraLinearImpl*>& projections);

}  // namespace lethe::model
