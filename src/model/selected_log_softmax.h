// The log-probability of one chosen class per row, log_softmax(logits)[i, targets[i]], as a fused
// autograd node that never materialises the [N, V] log-softmax: what token_logprobs needs from the
// lm_head for every training objective and every score. Shapes: N rows, V classes (the vocabulary).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace lethe::model {

// logits [N, V] (float32, bfloat16 or float16), targets [N] int64 -> [N] float32, computed in fp32
// (as log_softmax(logits.float()).gather(targets)) and differentiable with respect to logits; the
// gradient comes back in the logits' dtype. Rows are processed in chunks of about `chunk_elements`
// logits (0: 1M on CPU, so a chunk's fp32 copy stays in cache between its passes; 256M on CUDA).
torch::Tensor selected_log_softmax(const torch::Tensor& logits, const torch::Tensor& targets,
                                   int64_t chunk_elements = 0);

}  // namespace lethe::model
