// A model folder opened for inference: the CausalLM (+ optional PEFT adapter), its tokenizer when
// the folder has one, and the token ids that end generation (inspect/generate/score commands); and
// the writer of a model folder (pretrain, full-parameter unlearn).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace lethe::model {

struct Pretrained {
  std::filesystem::path folder;  // the resolved model folder
  CausalLM model{nullptr};
  std::optional<text::Tokenizer> tokenizer;  // when the folder holds tokenizer.json
  std::vector<int64_t> eos_token_ids;  // config + generation_config + tokenizer eos + <|im_end|>
  std::string adapter;                 // the adapter folder applied, or empty

  // Throws lethe::Error naming what is missing when the folder has no tokenizer.
  const text::Tokenizer& require_tokenizer(const std::string& why) const;
};

// Loads MODEL (folder or HF-cache id) in dtype on device; applies `adapter_dir` (a PEFT folder)
// when non-empty. Returned in eval mode.
Pretrained load_pretrained(const std::string& model_path_or_id, torch::ScalarType dtype,
                           torch::Device device, const std::string& adapter_dir = "");

// Writes the model as HF's save_pretrained does: config.json (the model's config, torch_dtype the
// weights' dtype), model.safetensors (sharded above 5 GB, io::save_state_dict) and, when
// `generation_config` is an object, generation_config.json; atomically per file. Tokenizer files
// are the caller's. `save_dtype` casts the written weights (HF's torch_dtype; e.g. bf16 halves the
// file of an fp32-trained model) and leaves the model as it is. Throws lethe::Error when a LoRA
// adapter is attached (merge_and_unload_lora it first) or the weights are not all of one dtype.
void save_pretrained(CausalLM& model, const std::filesystem::path& folder,
                     const nlohmann::json& generation_config = nullptr,
                     std::optional<torch::ScalarType> save_dtype = std::nullopt);

}  // namespace lethe::model
