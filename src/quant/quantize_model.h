// Fake quantization of a whole CausalLM: merge the LoRA adapter, quantize every projection weight
// (q/k/v/o/gate/up/down), report per-layer NMSE and packed size. Embeddings, norms and lm_head stay
// in full precision (as bitsandbytes / GPTQ leave them by default). Also: calibration activations
// for LLM.int8 and the LoRA-delta survival measure.
#pragma once
#include <torch/torch.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/causal_lm.h"

namespace lethe::quant {

struct LayerQuantStats {
  std::string name;  // checkpoint prefix, "model.layers.0.self_attn.q_proj"
  int64_t params = 0;
  double nmse = 0.0;            // sum (W - deq)^2 / sum W^2
  int64_t bytes = 0;            // packed size of codes + scales
  int64_t outlier_columns = 0;  // int8_outlier only
};

struct ModelQuantResult {
  std::string scheme;
  std::vector<LayerQuantStats> layers;
  int64_t quantized_params = 0;
  int64_t quantized_bytes = 0;  // packed projections
  int64_t other_params = 0;     // embeddings, norms, biases, lm_head (kept in 16-bit)
  int64_t total_bytes = 0;      // quantized_bytes + 2 * other_params
  int64_t fp16_bytes = 0;       // the whole model in 16-bit, for comparison
  double mean_nmse = 0.0;       // parameter-weighted

  nlohmann::json to_json() const;
};

// Per-projection max |x[:, i]| of the projection's input over the real tokens of a calibration
// batch: ids [B, T], attention_mask [B, T] (undefined = all real) -> {prefix: [I] fp32}. Runs the
// layers by hand (same ops as DecoderLayer::forward); the LoRA adapter must be merged or absent.
std::map<std::string, torch::Tensor> calibration_input_absmax(model::CausalLM& model,
                                                              const torch::Tensor& ids,
                                                              const torch::Tensor& attention_mask);

// The projection weights (cloned), to undo quantize_model with restore_projection_weights.
std::map<std::string, torch::Tensor> snapshot_projection_weights(model::CausalLM& model);
// Unmerges any merged adapter bookkeeping and puts the saved weights back.
void restore_projection_weights(model::CausalLM& model,
                                const std::map<std::string, torch::Tensor>& saved);

// Merges the attached LoRA adapter (if any) and replaces every projection weight by its fake
// quantization (in place, cast back to the weight dtype). `calibration` (from
// calibration_input_absmax, on the merged model) is required for int8_outlier. Throws UsageError
// for an unknown scheme.
ModelQuantResult quantize_model(model::CausalLM& model, const std::string& scheme,
                                const std::map<std::string, torch::Tensor>* calibration = nullptr);

// How much of a weight update (a LoRA delta scaling * B A) survives quantizing the merged weight:
// with Q the scheme's fake quantization, d = Q(W + delta) - Q(W).
struct DeltaSurvival {
  double delta_norm = 0.0;        // ||delta||_F
  double quant_error_norm = 0.0;  // ||W - Q(W)||_F
  double delta_to_error = 0.0;  // ||delta|| / ||W - Q(W)||: < 1 means the delta is below the noise
  double mean_delta_to_step = 0.0;  // mean |delta| / mean step (step ~ 4 mean |W - Q(W)|)
  // cos(d, delta): 1 = the quantized change still is the delta, ~0 = replaced by rounding noise.
  double survival = 0.0;
  // <d, delta> / ||delta||^2: about 1 in expectation even for tiny deltas (rounding acts as a
  // dither: a few weights jump a whole step), so read it with survival and changed_fraction.
  double projection = 0.0;
  double changed_fraction = 0.0;  // fraction of weights whose integer code changed
  nlohmann::json to_json() const;
};
DeltaSurvival lora_delta_survival(const torch::Tensor& weight, const torch::Tensor& delta,
                                  const std::string& scheme);

}  // namespace lethe::quant
