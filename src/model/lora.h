// LoRA on a whole CausalLM (PEFT semantics): attach to chosen projections with PEFT's seeded init,
// enable/disable, merge/unmerge/merge-and-unload, the trainable parameters, and PEFT adapter
// folders (load and save). The per-projection arithmetic lives in model/lora_linear.h; the file
// format in io/peft_adapter.h.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/peft_adapter.h"
#include "model/causal_lm.h"

namespace lethe::model {

// The projections LoRA can target, in the order PEFT visits them inside a layer.
const std::vector<std::string>& lora_target_names();

struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 16.0;
  double lora_dropout = 0.0;
  bool use_rslora = false;  // scaling alpha / sqrt(r) instead of alpha / r
  std::vector<std::string> target_modules = lora_target_names();
};

// Attaches an adapter to every projection whose name is in config.target_modules and freezes all
// other parameters. Init is PEFT's, bit for bit: with torch.manual_seed(seed) before
// get_peft_model, PEFT draws per module (in layer order q, k, v, o, gate, up, down) nn.Linear inits
// of A and B and then kaiming_uniform(a = sqrt(5)) of A; B = 0. Uses its own generator (the global
// one is left as it was). `dtype`: the adapter's dtype (fp32 for bf16 training); default the base
// weight's. Throws lethe::Error for a target that is not a projection of this model, r <= 0, or an
// adapter already attached.
void attach_lora(CausalLM& model, const LoraConfig& config, uint64_t seed,
                 std::optional<torch::ScalarType> dtype = std::nullopt);

// Removes every adapter (unmerging first).
void detach_lora(CausalLM& model);

// True when at least one projection has an adapter.
bool has_lora(CausalLM& model);
// The config of the attached adapter (r, alpha, dropout, rslora, target modules); throws when none.
LoraConfig lora_config(CausalLM& model);

// The adapter switch for all projections: disabled = the base model (the NPO/DPO/KL reference).
void set_lora_enabled(CausalLM& model, bool enabled);

// RAII: disables the adapter for a scope and restores the previous state.
class LoraDisabledScope {
 public:
  explicit LoraDisabledScope(CausalLM& model);
  ~LoraDisabledScope();
  LoraDisabledScope(const LoraDisabledScope&) = delete;
  LoraDisabledScope& operator=(const LoraDisabledScope&) = delete;

 private:
  CausalLM& model_;
  std::vector<bool> was_enabled_;
};

// RAII for inference: merges every attached, enabled adapter into its base weight for the scope
// (each projection then runs one GEMM instead of three and a decode step none of the adapter's
// small ops: lethe eval of one adapter on lethe-base 11-30% faster) and afterwards puts the saved
// base weights back bit for bit (unmerge's subtraction would leave one rounding per weight behind
// each time). Active only when
// every adapted weight is float32 on the CPU and a copy of them fits in available memory: merging
// into a bf16/fp16 weight rounds the delta into it (not the same model; quantize-eval studies that
// on purpose), and on a GPU the copy would cost device memory. Otherwise it does nothing.
class LoraMergedScope {
 public:
  explicit LoraMergedScope(CausalLM& model);
  ~LoraMergedScope();
  LoraMergedScope(const LoraMergedScope&) = delete;
  LoraMergedScope& operator=(const LoraMergedScope&) = delete;
  bool active() const { return !saved_.empty(); }

 private:
  std::vector<std::pair<std::shared_ptr<LoraLinearImpl>, torch::Tensor>> saved_;  // base weights
};

// W += scaling * B A in every adapted projection (for fast inference, export); unmerge undoes it.
void merge_lora(CausalLM& model);
void unmerge_lora(CausalLM& model);

// PEFT's merge_and_unload: W += scaling * B A (fp32, cast to W's dtype) in every adapted
// projection, then the adapters are removed without unmerging, leaving a plain model whose outputs
// equal the adapted one's. requires_grad of the base weights is left as it was. Throws when no
// adapter is attached or one is disabled.
void merge_and_unload_lora(CausalLM& model);

// lora_A / lora_B of every adapted projection, named "<module prefix>.lora_A" / ".lora_B", in
// module order. These are the only trainable parameters after attach_lora.
std::vector<std::pair<std::string, torch::Tensor>> lora_parameters(CausalLM& model);

// Loads a PEFT adapter folder onto the model: replaces any attached adapter with the folder's
// config and weights (cast to `dtype`, default the base weight dtype). Throws lethe::Error naming
// the folder when a module does not exist in the model, a shape does not match, or a targeted
// projection has no weights. Returns the adapter's config (base_model_name_or_path included).
io::AdapterConfig load_adapter(CausalLM& model, const std::filesystem::path& folder,
                               std::optional<torch::ScalarType> dtype = std::nullopt);

// Writes the attached adapter as a PEFT folder (adapter_config.json with every key peft 0.14
// writes, adapter_model.safetensors with keys base_model.model.<prefix>.lora_A.weight), atomically
// per file.
void save_adapter(CausalLM& model, const std::filesystem::path& folder,
                  const std::string& base_model_name_or_path);

}  // namespace lethe::model
