// The safetensors format (Hugging Face): an mmap'd reader returning zero-copy tensor views, and an
// atomic writer whose output matches the Python `safetensors` writer. No pickle / .bin support.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lethe::io {

// Tensors by checkpoint key, sorted by name.
using StateDict = std::map<std::string, torch::Tensor>;
using Metadata = std::map<std::string, std::string>;

struct TensorInfo {
  std::string name;
  std::string dtype_name;  // as stored: "F32", "BF16", ...
  torch::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

class MappedFile;  // read-only private mapping of a whole file, unmapped when the last user goes

// One open .safetensors file. Validation happens in open(): any problem throws lethe::Error
// "PATH: <problem>". Tensors returned by tensor() alias the mapping (no copy) and keep it alive
// after this object is gone; writing to them never touches the file (copy-on-write mapping).
class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const Metadata& metadata() const { return metadata_; }
  // Names in data order (as stored).
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  // Zero-copy view (a copy only when the stored bytes are misaligned for the dtype).
  torch::Tensor tensor(const std::string& name) const;
  // Every tensor, zero-copy.
  StateDict tensors() const;

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> mapping_;
  const uint8_t* data_ = nullptr;  // start of the data section inside the mapping
  Metadata metadata_;
  std::vector<std::string> names_;
  std::map<std::string, size_t> index_;
  std::vector<TensorInfo> infos_;
};

// Shorthand for SafetensorsFile::open(path)->tensors().
StateDict load_safetensors(const std::filesystem::path& path);

// Writes `tensors` (any device, any layout; made contiguous on CPU one at a time) like the Python
// writer: header {"__metadata__", then tensors in data order}, data sorted by dtype width then
// name, header padded with spaces to a multiple of 8. Atomic (temp file + rename). The default
// metadata
// {"format": "pt"} is what transformers and peft require to load the file.
void write_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                       const Metadata& metadata = {{"format", "pt"}});

// "F32" <-> torch dtype; throws lethe::Error for names libtorch cannot represent.
torch::ScalarType safetensors_dtype(const std::string& name);
std::string safetensors_dtype_name(torch::ScalarType dtype);

}  // namespace lethe::io
