// The weight names and shapes of a config's model (see weight_names.h).
#include "model/weight_names.h"

#include <sstream>

namespace lethe::model {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

}  // namespace

std::map<std::string, std::vector<int64_t>> expected_weight_shapes(const ModelConfig& c) {
  std::map<std::string, std::vector<int64_t>> w;
  const int64_t C = c.hidden_size, I = c.intermediate_size;
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  w["model.embed_tokens.weight"] = {c.vocab_size, C};
  w["model.norm.weight"] = {C};
  if (!c.tie_word_embeddings) w["lm_head.weight"] = {c.vocab_size, C};
  // Linear weights are [out, in] (torch::nn::Linear, HF).
  auto linear = [&w](const std::string& name, int64_t in, int64_t out, bool bias) {
    w[name + ".weight"] = {out, in};
    if (bias) w[name + ".bias"] = {out};
  };
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string layer = "model.layers." + std::to_string(i) + ".";
    w[layer + "input_layernorm.weight"] = {C};
    w[layer + "post_attention_layernorm.weight"] = {C};
    linear(layer + "self_attn.q_proj", C, q, c.has_qkv_bias());
    linear(layer + "self_attn.k_proj", C, kv, c.has_qkv_bias());
    linear(layer + "self_attn.v_proj", C, kv, c.has_qkv_bias());
    linear(layer + "self_attn.o_proj", q, C, c.has_o_bias());
    linear(layer + "mlp.gate_proj", C, I, c.mlp_bias);
    linear(layer + "mlp.up_proj", C, I, c.mlp_bias);
    linear(layer + "mlp.down_proj", I, C, c.mlp_bias);
  }
  return w;
}

bool is_ignored_checkpoint_key(const std::string& name, const ModelConfig& config) {
  if (name.find("rotary_emb.inv_freq") != std::string::npos) return true;
  return name == "lm_head.weight" && config.tie_word_embeddings;
}

WeightCheck check_weight_names(const ModelConfig& config,
                               const std::map<std::string, std::vector<int64_t>>& stored) {
  WeightCheck check;
  const auto expected = expected_weight_shapes(config);
  for (const auto& [name, shape] : expected) {
    const auto it = stored.find(name);
    if (it == stored.end()) {
      check.missing.push_back(name);
    } else if (it->second != shape) {
      check.wrong_shape.push_back(name + ": " + shape_text(it->second) +
                                  " in the checkpoint, the config expects " + shape_text(shape));
    }
  }
  for (const auto& [name, shape] : stored)
    if (expected.count(name) == 0 && !is_ignored_checkpoint_key(name, config))
      check.unexpected.push_back(name);
  return check;
}

}  // namespace lethe::model
