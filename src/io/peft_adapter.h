// PEFT's LoRA adapter format (peft 0.14): adapter_config.json + adapter_model.safetensors with keys
// base_model.model.<module prefix>.lora_A.weight. Plain LoRA only: no DoRA, no regex targets, no
// bias.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lethe::io {

// adapter_config.json, fields named as its keys. Unsupported settings are rejected by parse.
struct AdapterConfig {
  std::string peft_type = "LORA";
  std::string task_type = "CAUSAL_LM";
  std::string base_model_name_or_path;
  std::optional<std::string> revision;
  int64_t r = 8;
  double lora_alpha = 8.0;
  double lora_dropout = 0.0;
  std::vector<std::string> target_modules;  // module names ("q_proj"), list form only
  bool use_rslora = false;
  std::string bias = "none";
  bool inference_mode = true;
  bool init_lora_weights = true;

  // LoRA (Hu et al. 2021): alpha / r; rsLoRA (Kalajdzievski 2023): alpha / sqrt(r).
  double scaling() const;
};

// Parses and validates; `where` names the source in errors ("DIR/adapter_config.json").
AdapterConfig parse_adapter_config(const nlohmann::json& json, const std::string& where);
AdapterConfig read_adapter_config(const std::filesystem::path& path);
// The full key set peft 0.14 writes (target_modules in the given order).
nlohmann::json adapter_config_to_json(const AdapterConfig& config);

// One adapted projection. lora_A [r, in], lora_B [out, r]; delta W = scaling * B A.
struct LoraWeights {
  torch::Tensor lora_A;
  torch::Tensor lora_B;
};

struct Adapter {
  AdapterConfig config;
  std::map<std::string, LoraWeights> modules;  // by module prefix "model.layers.0.self_attn.q_proj"
};

// Reads DIR/adapter_config.json and DIR/adapter_model.safetensors (tensors as stored, zero-copy).
// Checks every module has lora_A and lora_B with rank r and consistent shapes, that its name is in
// target_modules, and that no other key is present.
Adapter load_adapter(const std::filesystem::path& folder);

// Writes both files atomically (tensors copied to CPU, contiguous), in the layout peft loads.
void save_adapter(const std::filesystem::path& folder, const Adapter& adapter);

// "model.layers.0.self_attn.q_proj", "lora_A" ->
// "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
std::string peft_key(const std::string& module_prefix, const std::string& lora_part);
// The reverse: {module prefix, "lora_A" | "lora_B"}; nullopt when `key` is not a LoRA key.
// Also accepts the in-memory form with an adapter name (".lora_A.default.weight").
std::optional<std::pair<std::string, std::string>> parse_peft_key(const std::string& key);

}  // namespace lethe::io
