// Hugging Face checkpoint weights: model.safetensors, or shards listed by
// model.safetensors.index.json. Parsing config.json is the model area's job (model/model_config.h).
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>

#include "io/safetensors.h"

namespace lethe::io {

// A folder's weights, name -> tensor, zero-copy views of the mapped file(s) (each shard opened
// once). Accepts a folder (single file or index + shards) or a path to one .safetensors file.
// Errors name the missing shard / file, a tensor the index lists but its shard lacks, or a tensor
// in two shards. With `dtype`, each tensor is converted as it is loaded, so only the converted copy
// lives in memory.
StateDict load_state_dict(const std::filesystem::path& folder_or_file,
                          std::optional<torch::ScalarType> dtype = std::nullopt);

// True when the folder holds model.safetensors or model.safetensors.index.json.
bool has_safetensors_weights(const std::filesystem::path& folder);

// Writes the weights as HF's save_pretrained does: model.safetensors when the total is at most
// `max_shard_bytes`, else model-0000K-of-0000N.safetensors + model.safetensors.index.json
// (metadata.total_size, weight_map). Removes stale weight files of the other layout.
void save_state_dict(const std::filesystem::path& folder, const StateDict& tensors,
                     uint64_t max_shard_bytes = 5ull << 30);

}  // namespace lethe::io
