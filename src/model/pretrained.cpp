// load_pretrained: model + adapter + tokenizer + eos ids from one folder; save_pretrained.
#include "model/pretrained.h"

#include <algorithm>

#include "core/error.h"
#include "core/json_io.h"
#include "core/runtime.h"
#include "io/checkpoint.h"
#include "io/model_path.h"
#include "model/generate.h"
#include "model/lora.h"

namespace lethe::model {

const text::Tokenizer& Pretrained::require_tokenizer(const std::string& why) const {
  LETHE_CHECK(tokenizer.has_value(), folder.string(), ": no tokenizer.json, needed for ", why,
              " (give token ids instead)");
  return *tokenizer;
}

Pretrained load_pretrained(const std::string& model_path_or_id, torch::ScalarType dtype,
                           torch::Device device, const std::string& adapter_dir) {
  Pretrained out;
  out.folder = io::resolve_model_path(model_path_or_id);
  out.model = load_causal_lm(out.folder.string(), dtype, device);
  if (!adapter_dir.empty()) {
    load_adapter(out.model, adapter_dir);
    out.model->to(device);
    out.adapter = adapter_dir;
  }
  out.model->eval();
  if (std::filesystem::exists(out.folder / "tokenizer.json")) {
    out.tokenizer.emplace(text::Tokenizer::load(out.folder));
  }
  out.eos_token_ids = declared_eos_token_ids(out.folder, out.model->config());
  if (out.tokenizer) {
    if (auto eos = out.tokenizer->eos_id()) out.eos_token_ids.push_back(*eos);
    if (auto im_end = out.tokenizer->im_end_id()) out.eos_token_ids.push_back(*im_end);
  }
  std::sort(out.eos_token_ids.begin(), out.eos_token_ids.end());
  out.eos_token_ids.erase(std::unique(out.eos_token_ids.begin(), out.eos_token_ids.end()),
                          out.eos_token_ids.end());
  return out;
}

void save_pretrained(CausalLM& model, const std::filesystem::path& folder,
                     const nlohmann::json& generation_config,
                     std::optional<torch::ScalarType> save_dtype) {
  LETHE_CHECK(!has_lora(model), "save_pretrained: ", folder.string(),
              ": the model carries a LoRA adapter; merge and unload it first");
  io::StateDict weights;
  std::optional<torch::ScalarType> dtype;
  for (const auto& p : model->named_parameters()) {
    LETHE_CHECK(!dtype || *dtype == p.value().scalar_type(), "save_pretrained: ", p.key(), " is ",
                c10::toString(p.value().scalar_type()), " but other weights are ",
                c10::toString(*dtype));
    dtype = p.value().scalar_type();
    weights[p.key()] = p.value().detach().to(torch::kCPU, save_dtype.value_or(*dtype));
  }
  if (save_dtype) dtype = save_dtype;
  std::filesystem::create_directories(folder);
  io::save_state_dict(folder, weights);
  ModelConfig config = model->config();
  if (dtype) config.torch_dtype = core::dtype_name(*dtype);
  core::write_json(folder / "config.json", config.to_json());
  if (generation_config.is_object())
    core::write_json(folder / "generation_config.json", generation_config);
}

}  // namespace lethe::model
