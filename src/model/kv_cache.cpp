// KVCache: preallocated per-layer buffers (doubling when full), views over the filled part.
#include "model/kv_cache.h"

#include "core/error.h"

namespace lethe::model {

KVCache::KVCache(int64_t num_layers, int64_t capacity)
    : keys_(num_layers), values_(num_layers), reserve_(capacity) {}

std::pair<torch::Tensor, torch::Tensor> KVCache::append(int64_t layer, const torch::Tensor& k,
                                                        const torch::Tensor& v) {
  LETHE_CHECK(layer >= 0 && layer < static_cast<int64_t>(keys_.size()), "KVCache: layer ", layer,
              " out of range");
  const int64_t step = k.size(2);
  const int64_t needed = length_ + step;
  torch::Tensor& keys = keys_[layer];
  torch::Tensor& values = values_[layer];
  if (keys.defined()) {
    LETHE_CHECK(keys.size(0) == k.size(0), "KVCache: batch size changed from ", keys.size(0),
                " to ", k.size(0));
  }
  if (!keys.defined() || keys.size(2) < needed) {
    const int64_t old_capacity = keys.defined() ? keys.size(2) : 0;
    const int64_t capacity = std::max({needed, reserve_, 2 * old_capacity});
    auto grow = [&](torch::Tensor& buffer, const torch::Tensor& like) {
      torch::Tensor fresh =
          torch::empty({like.size(0), like.size(1), capacity, like.size(3)}, like.options());
      if (buffer.defined() && length_ > 0) {
        fresh.narrow(2, 0, length_).copy_(buffer.narrow(2, 0, length_));
      }
      buffer = fresh;
    };
    grow(keys, k);
    grow(values, v);
  }
  keys.narrow(2, length_, step).copy_(k);
  values.narrow(2, length_, step).copy_(v);
  return {keys.narrow(2, 0, needed), values.narrow(2, 0, needed)};
}

void KVCache::commit(int64_t step_tokens, const torch::Tensor& mask_all,
                     const torch::Tensor& seen) {
  length_ += step_tokens;
  LETHE_CHECK(mask_all.size(1) == length_, "KVCache: mask covers ", mask_all.size(1),
              " tokens, cache holds ", length_);
  mask_ = mask_all;
  seen_ = seen;
}

void KVCache::clear() {
  for (auto& t : keys_) t = torch::Tensor();
  for (auto& t : values_) t = torch::Tensor();
  length_ = 0;
  mask_ = torch::Tensor();
  seen_ = torch::Tensor();
}

}  // namespace lethe::model
