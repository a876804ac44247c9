// The MLP activation recorder: sets each MlpImpl::capture_neurons, clears it on destruction.
#include "analysis/mlp_activations.h"

#include "core/error.h"
#include "model/decoder_model.h"

namespace lethe::analysis {

MlpActivationRecorder::MlpActivationRecorder(model::CausalLM& model) {
  const auto& layers = model->decoder()->layer_list;
  for (size_t l = 0; l < layers.size(); ++l)  // checked before any is set: a throw leaves none
    LETHE_CHECK(layers[l]->mlp->capture_neurons == nullptr, "layer ", l,
                "'s MLP already has an activation recorder");
  activations_.resize(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    mlps_.push_back(layers[l]->mlp.ptr());
    mlps_.back()->capture_neurons = &activations_[l];
  }
}

MlpActivationRecorder::~MlpActivationRecorder() {
  for (auto& mlp : mlps_) mlp->capture_neurons = nullptr;
}

torch::Tensor MlpActivationRecorder::sum_over(const torch::Tensor& positions) const {
  LETHE_CHECK(!activations_.empty() && activations_[0].defined(),
              "MlpActivationRecorder: no forward pass was recorded");
  std::vector<torch::Tensor> sums;
  for (const auto& a : activations_) {
    LETHE_CHECK(a.dim() == 3 && a.size(0) == positions.size(0) && a.size(1) == positions.size(1),
                "MlpActivationRecorder: positions ", positions.sizes(),
                " do not match activations ", a.sizes());
    const torch::Tensor w = (positions != 0).to(a.device(), torch::kFloat32);          // [B, T]
    sums.push_back(torch::einsum("bt,bti->bi", {w, a.detach().to(torch::kFloat32)}));  // [B, I]
  }
  return torch::stack(sums, 1).cpu();  // [B, L, I]
}

}  // namespace lethe::analysis
