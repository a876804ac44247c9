// RMSNorm as Hugging Face's Qwen2RMSNorm / LlamaRMSNorm: normalised in fp32, cast back, then
// scaled.
#pragma once
#include <torch/torch.h>

namespace lethe::model {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t hidden_size, double eps);
  // [..., C] -> [..., C] in the input dtype: weight * (x / sqrt(mean(x^2) + eps))
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;  // [C]

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

}  // namespace lethe::model
