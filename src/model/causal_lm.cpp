// CausalLM: trunk + (tied or untied) lm_head; weight loading with key and shape checks.
#include "model/causal_lm.h"

#include <filesystem>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/memory.h"
#include "io/checkpoint.h"
#include "io/model_path.h"
#include "model/decoder_model.h"
#include "model/lora_linear.h"
#include "model/weight_names.h"

namespace lethe::model {

CausalLMImpl::CausalLMImpl(const ModelConfig& config, bool init_weights) : config_(config) {
  model_ = register_module("model", std::make_shared<DecoderModelImpl>(config, init_weights));
  if (!config.tie_word_embeddings) {
    lm_head_ =
        register_module("lm_head", std::make_shared<LoraLinearImpl>(
                                       config.hidden_size, config.vocab_size, false, init_weights));
  }
}

ForwardOutput CausalLMImpl::forward(const torch::Tensor& ids, const ForwardOptions& options) {
  ForwardOutput out;
  out.hidden =
      model_->forward(ids, options, options.output_hidden_states ? &out.hidden_states : nullptr);
  if (options.compute_logits) out.logits = lm_head_forward(out.hidden);
  return out;
}

torch::Tensor CausalLMImpl::lm_head_forward(const torch::Tensor& hidden) {
  if (lm_head_) return lm_head_->forward(hidden);
  return torch::linear(hidden, model_->embed_tokens->weight);
}

std::vector<std::pair<std::string, std::shared_ptr<LoraLinearImpl>>> CausalLMImpl::projections() {
  std::vector<std::pair<std::string, std::shared_ptr<LoraLinearImpl>>> out;
  for (size_t i = 0; i < model_->layer_list.size(); ++i) {
    auto& layer = model_->layer_list[i];
    const std::string prefix = "model.layers." + std::to_string(i) + ".";
    out.emplace_back(prefix + "self_attn.q_proj", layer->self_attn->q_proj.ptr());
    out.emplace_back(prefix + "self_attn.k_proj", layer->self_attn->k_proj.ptr());
    out.emplace_back(prefix + "self_attn.v_proj", layer->self_attn->v_proj.ptr());
    out.emplace_back(prefix + "self_attn.o_proj", layer->self_attn->o_proj.ptr());
    out.emplace_back(prefix + "mlp.gate_proj", layer->mlp->gate_proj.ptr());
    out.emplace_back(prefix + "mlp.up_proj", layer->mlp->up_proj.ptr());
    out.emplace_back(prefix + "mlp.down_proj", layer->mlp->down_proj.ptr());
  }
  return out;
}

namespace {

bool is_lora_key(const std::string& name) {
  return name.size() > 7 && (name.compare(name.size() - 7, 7, ".lora_A") == 0 ||
                             name.compare(name.size() - 7, 7, ".lora_B") == 0);
}

std::string shape_str(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

}  // namespace

void load_weights(CausalLMImpl& model, const std::map<std::string, torch::Tensor>& weights,
                  const std::string& where, std::optional<torch::ScalarType> dtype) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    if (is_lora_key(name)) continue;  // adapters come from model/lora.h, never the base checkpoint
    torch::Tensor& param = item.value();
    auto it = weights.find(name);
    LETHE_CHECK(it != weights.end(), where, ": missing weight '", name, "'");
    LETHE_CHECK(it->second.sizes() == param.sizes(), where, ": weight '", name, "' has shape ",
                shape_str(it->second.sizes()), ", the config expects ", shape_str(param.sizes()));
    // set_data needs the same device type: convert on the tensor's own device, move the model
    // later.
    torch::Tensor value = it->second.to(dtype.value_or(param.scalar_type()));
    if (value.device() != param.device()) value = value.to(param.device());
    // A zero-copy view of the mapped file when the stored dtype is already the requested one.
    param.set_data(value.is_contiguous() ? value : value.contiguous());
    used.insert(name);
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : weights) {
    // Old HF rotary buffers; tied checkpoints storing the shared matrix twice (HF ignores the
    // copy).
    if (used.count(name) != 0 || is_ignored_checkpoint_key(name, model.config())) continue;
    unexpected.push_back(name);
  }
  if (!unexpected.empty()) {
    std::ostringstream list;
    for (size_t i = 0; i < unexpected.size() && i < 5; ++i)
      list << (i ? ", " : "") << unexpected[i];
    if (unexpected.size() > 5) list << ", ... (" << unexpected.size() << " in all)";
    LETHE_FAIL(where, ": unexpected weights the model does not use: ", list.str());
  }
}

void check_model_memory(const ModelConfig& config, torch::ScalarType dtype, torch::Device device,
                        const std::string& where, double copies) {
  if (!device.is_cpu()) return;
  const double params = config.num_parameters_approx();
  std::ostringstream what;
  what.precision(3);
  what << where << ": a model of " << params << " parameters in " << c10::toString(dtype);
  core::check_memory_for(params * static_cast<double>(c10::elementSize(dtype)) * copies, what.str(),
                         copies > 1.0 ? " for training" : "");
}

CausalLM load_causal_lm(const std::string& model_path_or_id, torch::ScalarType dtype,
                        torch::Device device) {
  const std::filesystem::path folder = io::resolve_model_path(model_path_or_id);
  const std::filesystem::path config_path = folder / "config.json";
  LETHE_CHECK(std::filesystem::exists(config_path), config_path.string(), ": file not found");
  ModelConfig config = ModelConfig::from_file(config_path.string());
  LETHE_CHECK(io::has_safetensors_weights(folder), folder.string(),
              ": no model.safetensors or model.safetensors.index.json");
  check_model_memory(config, dtype, device, config_path.string());
  // Uninitialised (untouched) parameters are replaced tensor by tensor with the checkpoint's mmap
  // views converted to dtype/device, so no second full copy of the weights is ever resident.
  CausalLM model(config, /*init_weights=*/false);
  io::StateDict weights = io::load_state_dict(folder);
  load_weights(*model, weights, folder.string(), dtype);
  weights.clear();
  model->to(device);
  model->eval();
  return model;
}

}  // namespace lethe::model
