// The typed config.json of a decoder-only causal LM (Qwen2, Llama): fields named as the JSON keys.
// from_json rejects what the model code does not implement (naming the field); to_json writes HF
// keys.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lethe::model {

// rope_scaling: "linear" (positions / factor) and "llama3" (frequency-dependent) are implemented.
struct RopeScaling {
  std::string rope_type;  // "linear" | "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;                     // llama3
  double high_freq_factor = 4.0;                    // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
  std::string model_type = "qwen2";  // "qwen2" | "llama"
  std::vector<std::string> architectures{"Qwen2ForCausalLM"};
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // hidden_size / num_attention_heads unless config.json sets it (llama)
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  std::optional<RopeScaling> rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = true;  // q/k/v bias (qwen2: always true; llama: from config, default false)
  bool mlp_bias = false;
  std::string hidden_act = "silu";
  bool use_sliding_window = false;
  std::optional<int64_t> sliding_window;
  int64_t max_window_layers = 0;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_id;  // config.json allows an int or a list
  std::string torch_dtype = "float32";

  // Parses and validates config.json content; `where` (the file path) prefixes every error.
  static ModelConfig from_json(const nlohmann::json& json, const std::string& where);
  // Reads <folder>/config.json.
  static ModelConfig from_file(const std::string& config_json_path);
  nlohmann::json to_json() const;

  bool has_qkv_bias() const { return attention_bias; }
  bool has_o_bias() const { return model_type == "llama" && attention_bias; }
  int64_t num_parameters() const;  // of the model this config builds (tied embeddings counted once)
  // The same count in floating point: never overflows, for sizes no file has been checked against.
  double num_parameters_approx() const;
};

}  // namespace lethe::model
