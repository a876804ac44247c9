// The model shapes the benchmarks share: "micro" (hidden 256, 4 layers, vocab 2048), "0.5b"
// (Qwen2.5-0.5B: hidden 896, 24 layers, vocab 151936) and "1.5b" (Qwen2.5-1.5B: hidden 1536, 28
// layers, 12 heads / 2 kv heads, intermediate 8960). Random weights; no files.
#pragma once
#include <string>

#include "model/causal_lm.h"

namespace lethe::bench {

inline model::ModelConfig model_shape(const std::string& name) {
  model::ModelConfig c;
  c.model_type = "qwen2";
  c.tie_word_embeddings = true;
  c.rope_theta = 1e6;
  c.max_position_embeddings = 32768;
  if (name == "1.5b") {
    c.vocab_size = 151936, c.hidden_size = 1536, c.intermediate_size = 8960;
    c.num_hidden_layers = 28, c.num_attention_heads = 12, c.num_key_value_heads = 2;
  } else if (name == "0.5b") {
    c.vocab_size = 151936, c.hidden_size = 896, c.intermediate_size = 4864;
    c.num_hidden_layers = 24, c.num_attention_heads = 14, c.num_key_value_heads = 2;
  } else {
    c.vocab_size = 2048, c.hidden_size = 256, c.intermediate_size = 688;
    c.num_hidden_layers = 4, c.num_attention_heads = 4, c.num_key_value_heads = 2;
  }
  c.head_dim = c.hidden_size / c.num_attention_heads;
  return c;
}

}  // namespace lethe::bench
