// HF checkpoint weights: single model.safetensors or an index + shards, each shard mapped once.
#include "io/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "core/json_io.h"

namespace lethe::io {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

void add_tensor(StateDict& out, const std::string& name, torch::Tensor tensor,
                std::optional<torch::ScalarType> dtype) {
  if (dtype && tensor.scalar_type() != *dtype && tensor.is_floating_point())
    tensor = tensor.to(*dtype);
  out.emplace(name, std::move(tensor));
}

// "model-00001-of-00004.safetensors"
bool is_shard_file_name(const std::string& name) {
  const std::string head = "model-", tail = ".safetensors";
  if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
    return false;
  const std::string middle = name.substr(head.size(), name.size() - head.size() - tail.size());
  const size_t of = middle.find("-of-");
  auto digits = [](const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return of != std::string::npos && digits(middle.substr(0, of)) && digits(middle.substr(of + 4));
}
}  // namespace

bool has_safetensors_weights(const fs::path& folder) {
  return fs::is_regular_file(folder / kSingleFile) || fs::is_regular_file(folder / kIndexFile);
}

StateDict load_state_dict(const fs::path& folder_or_file, std::optional<torch::ScalarType> dtype) {
  StateDict out;
  if (fs::is_regular_file(folder_or_file)) {
    auto file = SafetensorsFile::open(folder_or_file);
    for (const auto& name : file->names()) add_tensor(out, name, file->tensor(name), dtype);
    return out;
  }
  LETHE_CHECK(fs::is_directory(folder_or_file), folder_or_file.string(),
              ": no such model folder or safetensors file");
  if (fs::is_regular_file(folder_or_file / kSingleFile))
    return load_state_dict(folder_or_file / kSingleFile, dtype);

  const fs::path index_path = folder_or_file / kIndexFile;
  if (!fs::is_regular_file(index_path)) {
    const bool has_bin = fs::exists(folder_or_file / "pytorch_model.bin") ||
                         fs::exists(folder_or_file / "pytorch_model.bin.index.json");
    LETHE_FAIL(folder_or_file.string(), ": no ", kSingleFile, " or ", kIndexFile,
               has_bin ? " (pytorch_model.bin is not supported: re-save the model with "
                         "safe_serialization=True)"
                       : "");
  }
  const json index = core::read_json(index_path);
  const std::string where = index_path.string();
  LETHE_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
              where, ": field 'weight_map' missing or not an object");
  std::map<std::string, std::vector<std::string>> by_shard;  // shard file -> tensor names
  for (const auto& [name, shard] : index["weight_map"].items()) {
    LETHE_CHECK(shard.is_string(), where, ": weight_map['", name, "'] must be a file name");
    by_shard[shard.get<std::string>()].push_back(name);
  }
  LETHE_CHECK(!by_shard.empty(), where, ": weight_map is empty");
  std::map<std::string, std::string> owner;  // tensor -> shard that provided it
  for (const auto& [shard, names] : by_shard) {
    const fs::path shard_path = folder_or_file / shard;
    LETHE_CHECK(fs::is_regular_file(shard_path), where, ": shard '", shard, "' (listed for '",
                names.front(), "' and ", names.size() - 1,
                " more) is missing: ", shard_path.string());
    auto file = SafetensorsFile::open(shard_path);
    for (const auto& name : names)
      LETHE_CHECK(file->contains(name), shard_path.string(), ": tensor '", name, "' listed in ",
                  kIndexFile, " is not in this shard");
    // Like transformers, every tensor of a shard is loaded, listed or not.
    for (const auto& name : file->names()) {
      auto [it, inserted] = owner.emplace(name, shard);
      LETHE_CHECK(inserted, folder_or_file.string(), ": tensor '", name, "' is stored in both '",
                  it->second, "' and '", shard, "'");
      add_tensor(out, name, file->tensor(name), dtype);
    }
  }
  return out;
}

void save_state_dict(const fs::path& folder, const StateDict& tensors, uint64_t max_shard_bytes) {
  LETHE_CHECK(max_shard_bytes > 0, "save_state_dict: max_shard_bytes must be positive");
  // Greedy split in name order, as huggingface_hub's split_torch_state_dict_into_shards does
  // for tensors smaller than the limit (a bigger tensor gets a shard of its own).
  std::vector<StateDict> shards(1);
  uint64_t current = 0, total = 0;
  for (const auto& [name, tensor] : tensors) {
    uint64_t nbytes = static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
    if (current > 0 && current + nbytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().emplace(name, tensor);
    current += nbytes;
    total += nbytes;
  }
  std::set<fs::path> written;
  if (shards.size() == 1) {
    write_safetensors(folder / kSingleFile, shards[0]);
    written.insert(folder / kSingleFile);
  } else {
    json weight_map = json::object();
    char buffer[64];
    for (size_t i = 0; i < shards.size(); ++i) {
      std::snprintf(buffer, sizeof(buffer), "model-%05zu-of-%05zu.safetensors", i + 1,
                    shards.size());
      write_safetensors(folder / buffer, shards[i]);
      written.insert(folder / buffer);
      for (const auto& [name, tensor] : shards[i]) weight_map[name] = buffer;
    }
    json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    core::write_json(folder / kIndexFile, index);
    written.insert(folder / kIndexFile);
  }
  // Stale weights of an earlier save would otherwise be picked up (or shadow the new ones).
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if ((name == kSingleFile || name == kIndexFile || is_shard_file_name(name)) &&
        !written.count(entry.path()))
      fs::remove(entry.path());
  }
}

}  // namespace lethe::io
