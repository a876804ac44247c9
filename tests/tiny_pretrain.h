// The smallest `lethe pretrain` model the crash tests start from: a 1-layer, 32-wide Qwen2 with a
// 300-token BPE, trained for one epoch on `corpus` (it only has to exist, not to learn).
#pragma once
#include <cstdint>
#include <string>

#include "train/pretrain.h"

namespace lethe::test {

inline train::PretrainConfig tiny_pretrain_config(const std::string& corpus, const std::string& out,
                                                  int64_t max_length, int64_t batch_size) {
  train::PretrainConfig p;
  p.corpus = corpus;
  p.out = out;
  p.vocab_size = 300;
  p.hidden_size = 32;
  p.num_hidden_layers = 1;
  p.num_attention_heads = 2;
  p.num_key_value_heads = 1;
  p.intermediate_size = 64;
  p.max_length = max_length;
  p.train.epochs = 1;
  p.train.batch_size = batch_size;
  return p;
}

}  // namespace lethe::test
