// Logistic-regression probe trained with torch's L-BFGS.
#include "analysis/linear_probe.h"

#include "core/error.h"

namespace lethe::analysis {

void LinearProbe::fit(const torch::Tensor& features, const torch::Tensor& labels, int64_t classes,
                      const ProbeOptions& options) {
  LETHE_CHECK(features.dim() == 2 && features.size(0) > 0,
              "probe: features must be [N, C] with N > 0, got ", features.sizes());
  LETHE_CHECK(labels.dim() == 1 && labels.size(0) == features.size(0), "probe: ", features.size(0),
              " feature rows but labels of shape ", labels.sizes());
  LETHE_CHECK(classes >= 2, "probe: need at least 2 classes, got ", classes);
  const torch::Tensor y = labels.to(torch::kCPU).to(torch::kInt64);
  LETHE_CHECK(y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < classes,
              "probe: labels outside [0, ", classes, ")");
  torch::Tensor x = features.detach().to(torch::kCPU).to(torch::kFloat64);
  mean_ = x.mean(0);
  const torch::Tensor sd = x.std(0, /*unbiased=*/false);
  scale_ = torch::where(sd > 1e-12, sd, torch::ones_like(sd));
  x = (x - mean_) / scale_;
  torch::Tensor w = torch::zeros({classes, x.size(1)}, torch::kFloat64).requires_grad_(true);
  torch::Tensor b = torch::zeros({classes}, torch::kFloat64).requires_grad_(true);
  torch::optim::LBFGS opt({w, b}, torch::optim::LBFGSOptions(1.0)
                                      .max_iter(options.max_iter)
                                      .tolerance_grad(options.tolerance)
                                      .tolerance_change(options.tolerance)
                                      .history_size(20)
                                      .line_search_fn("strong_wolfe"));
  auto closure = [&]() -> torch::Tensor {
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(torch::addmm(b, x, w.t()), y) +
                         0.5 * options.l2 * w.pow(2).sum();
    loss.backward();
    return loss;
  };
  opt.step(closure);
  weight_ = w.detach();
  bias_ = b.detach();
}

torch::Tensor LinearProbe::logits(const torch::Tensor& features) const {
  LETHE_CHECK(fitted(), "probe: not fitted");
  LETHE_CHECK(features.dim() == 2 && features.size(1) == weight_.size(1),
              "probe: features of shape ", features.sizes(), ", the probe expects [N, ",
              weight_.size(1), "]");
  const torch::Tensor x = (features.detach().to(torch::kCPU).to(torch::kFloat64) - mean_) / scale_;
  return torch::addmm(bias_, x, weight_.t());
}

torch::Tensor LinearProbe::predict(const torch::Tensor& features) const {
  return logits(features).argmax(1);
}

double LinearProbe::accuracy(const torch::Tensor& features, const torch::Tensor& labels) const {
  if (features.size(0) == 0) return 0.0;
  return (predict(features) == labels.to(torch::kCPU).to(torch::kInt64))
      .to(torch::kFloat64)
      .mean()
      .item<double>();
}

}  // namespace lethe::analysis
