// Key/value cache for incremental decoding: per layer [B, Hkv, S, D] buffers grown by doubling,
// plus the key-validity mask and per-row position counters so left-padded batches decode like
// unpadded rows.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace lethe::model {

class KVCache {
 public:
  // `capacity`: tokens to reserve per layer on first use (0 = exactly what the first step needs).
  explicit KVCache(int64_t num_layers, int64_t capacity = 0);

  // Tokens cached so far (S_past), including padding positions.
  int64_t length() const { return length_; }
  int64_t batch_size() const { return mask_.defined() ? mask_.size(0) : 0; }
  // [B, S_past] 1 = real token; undefined before the first step.
  const torch::Tensor& mask() const { return mask_; }
  // [B] real tokens seen per row (the next token's position id).
  const torch::Tensor& seen() const { return seen_; }

  // Writes layer `layer`'s keys/values of the current step k, v [B, Hkv, T, D] after the cached
  // ones and returns views of everything so far, [B, Hkv, S_past + T, D]. The length advances in
  // commit().
  std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& k,
                                                 const torch::Tensor& v);

  // Ends a step of T tokens: mask_all [B, S_past + T] and seen [B] become the cache's state.
  void commit(int64_t step_tokens, const torch::Tensor& mask_all, const torch::Tensor& seen);

  void clear();

 private:
  std::vector<torch::Tensor> keys_;    // per layer [B, Hkv, capacity, D]
  std::vector<torch::Tensor> values_;  // per layer [B, Hkv, capacity, D]
  int64_t reserve_;
  int64_t length_ = 0;
  torch::Tensor mask_;
  torch::Tensor seen_;
};

}  // namespace lethe::model
