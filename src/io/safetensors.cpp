// safetensors reader (mmap + validation, zero-copy views) and writer (Python-compatible byte
// layout).
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors is little-endian");

namespace lethe::io {
namespace fs = std::filesystem;
using json = nlohmann::json;

// The Rust reference refuses headers above 100 MB; so do we (a corrupt length would otherwise
// make us parse garbage for a long time).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

class MappedFile {
 public:
  MappedFile(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    LETHE_CHECK(fd >= 0, path.string(),
                ": cannot open: ", fs::exists(path) ? std::strerror(errno) : "no such file");
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      LETHE_FAIL(path.string(), ": cannot stat: ", std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      LETHE_FAIL(path.string(), ": not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      // Private + writable: a caller writing into a returned tensor gets its own page, never
      // a segfault and never a change to the file.
      void* addr = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      int err = errno;
      ::close(fd);
      LETHE_CHECK(addr != MAP_FAILED, path.string(), ": mmap failed: ", std::strerror(err));
      addr_ = static_cast<uint8_t*>(addr);
    } else {
      ::close(fd);
    }
  }
  ~MappedFile() {
    if (addr_) ::munmap(addr_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return addr_; }
  size_t size() const { return size_; }

 private:
  uint8_t* addr_ = nullptr;
  size_t size_ = 0;
};

namespace {

struct DtypeEntry {
  const char* name;
  std::optional<torch::ScalarType> dtype;  // nullopt: a safetensors dtype libtorch 1.13 lacks
  int rank;                                // order of the Rust Dtype enum (the writer sorts by it)
};

const std::vector<DtypeEntry>& dtype_table() {
  static const std::vector<DtypeEntry> table = {
      {"BOOL", torch::kBool, 0},      {"F4", std::nullopt, 1},      {"F6_E2M3", std::nullopt, 2},
      {"F6_E3M2", std::nullopt, 3},   {"U8", torch::kByte, 4},      {"I8", torch::kChar, 5},
      {"F8_E5M2", std::nullopt, 6},   {"F8_E4M3", std::nullopt, 7}, {"F8_E8M0", std::nullopt, 8},
      {"I16", torch::kShort, 9},      {"U16", std::nullopt, 10},    {"F16", torch::kHalf, 11},
      {"BF16", torch::kBFloat16, 12}, {"I32", torch::kInt, 13},     {"U32", std::nullopt, 14},
      {"F32", torch::kFloat, 15},     {"F64", torch::kDouble, 16},  {"I64", torch::kLong, 17},
      {"U64", std::nullopt, 18},
  };
  return table;
}

const DtypeEntry& entry_for(torch::ScalarType dtype) {
  for (const auto& e : dtype_table())
    if (e.dtype && *e.dtype == dtype) return e;
  LETHE_FAIL("safetensors cannot store dtype ", c10::toString(dtype));
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

uint64_t get_u64(const json& value, const std::string& where) {
  LETHE_CHECK(
      value.is_number_unsigned() || (value.is_number_integer() && value.get<int64_t>() >= 0), where,
      " must be a non-negative integer, got ", value.dump());
  return value.get<uint64_t>();
}

TensorInfo parse_tensor_info(const std::string& name, const json& entry, uint64_t data_size,
                             const std::string& file) {
  const std::string where = file + ": tensor '" + name + "'";
  LETHE_CHECK(entry.is_object(), where, ": header entry must be an object, got ", entry.dump());
  for (const char* key : {"dtype", "shape", "data_offsets"})
    LETHE_CHECK(entry.contains(key), where, ": header entry lacks '", key, "'");
  TensorInfo info;
  info.name = name;
  LETHE_CHECK(entry["dtype"].is_string(), where, ": dtype must be a string");
  info.dtype_name = entry["dtype"].get<std::string>();
  const DtypeEntry* found = nullptr;
  for (const auto& e : dtype_table())
    if (info.dtype_name == e.name) found = &e;
  LETHE_CHECK(found, where, ": unknown dtype '", info.dtype_name, "'");
  LETHE_CHECK(found->dtype, where, ": dtype ", info.dtype_name, " is not supported by libtorch ",
              TORCH_VERSION);
  info.dtype = *found->dtype;

  LETHE_CHECK(entry["shape"].is_array(), where, ": shape must be an array");
  uint64_t numel = 1;
  for (const auto& dim : entry["shape"]) {
    uint64_t d = get_u64(dim, where + ": shape entry");
    LETHE_CHECK(d <= static_cast<uint64_t>(INT64_MAX), where, ": shape entry too large");
    info.shape.push_back(static_cast<int64_t>(d));
    LETHE_CHECK(!__builtin_mul_overflow(numel, d, &numel), where, ": shape ", entry["shape"].dump(),
                " overflows");
  }
  const auto& offsets = entry["data_offsets"];
  LETHE_CHECK(offsets.is_array() && offsets.size() == 2, where,
              ": data_offsets must be [begin, end], got ", offsets.dump());
  info.begin = get_u64(offsets[0], where + ": data_offsets");
  info.end = get_u64(offsets[1], where + ": data_offsets");
  LETHE_CHECK(info.begin <= info.end, where, ": data_offsets [", info.begin, ", ", info.end,
              "] end before begin");
  LETHE_CHECK(info.end <= data_size, where, ": data_offsets [", info.begin, ", ", info.end,
              "] out of range: the data section has ", data_size, " bytes (truncated file?)");
  uint64_t nbytes = 0;
  LETHE_CHECK(!__builtin_mul_overflow(numel, c10::elementSize(info.dtype), &nbytes), where,
              ": shape overflows");
  LETHE_CHECK(nbytes == info.end - info.begin, where, ": byte count ", info.end - info.begin,
              " does not match shape ", shape_string(info.shape), " x ", info.dtype_name, " (",
              nbytes, " bytes)");
  return info;
}

}  // namespace

torch::ScalarType safetensors_dtype(const std::string& name) {
  for (const auto& e : dtype_table()) {
    if (name != e.name) continue;
    LETHE_CHECK(e.dtype, "safetensors dtype ", name, " is not supported by libtorch ",
                TORCH_VERSION);
    return *e.dtype;
  }
  LETHE_FAIL("unknown safetensors dtype '", name, "'");
}

std::string safetensors_dtype_name(torch::ScalarType dtype) { return entry_for(dtype).name; }

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const fs::path& path) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  const std::string where = path.string();
  file->path_ = path;
  file->mapping_ = std::make_shared<MappedFile>(path);
  const size_t size = file->mapping_->size();
  const uint8_t* base = file->mapping_->data();
  LETHE_CHECK(size >= 8, where, ": file too short for a safetensors header (", size, " bytes)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, base, 8);
  LETHE_CHECK(header_len <= size - 8, where, ": header length ", header_len,
              " goes beyond the end of the file (", size,
              " bytes): truncated or not a safetensors file");
  LETHE_CHECK(header_len <= kMaxHeaderBytes, where, ": header length ", header_len,
              " exceeds the 100 MB limit");
  const char* header_begin = reinterpret_cast<const char*>(base + 8);
  json header;
  try {
    header = json::parse(header_begin, header_begin + header_len);
  } catch (const json::exception& e) {
    LETHE_FAIL(where, ": invalid header JSON: ", e.what());
  }
  LETHE_CHECK(header.is_object(), where, ": header must be a JSON object");
  const uint64_t data_size = size - 8 - header_len;
  file->data_ = base + 8 + header_len;

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      LETHE_CHECK(value.is_object() || value.is_null(), where,
                  ": __metadata__ must be an object of strings");
      if (value.is_null()) continue;
      for (const auto& [mkey, mvalue] : value.items()) {
        LETHE_CHECK(mvalue.is_string(), where, ": __metadata__ value for '", mkey,
                    "' must be a string, got ", mvalue.dump());
        file->metadata_[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    file->infos_.push_back(parse_tensor_info(key, value, data_size, where));
  }
  std::sort(file->infos_.begin(), file->infos_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Overlap check in data order; gaps (alignment padding) and trailing bytes are tolerated.
  const TensorInfo* previous = nullptr;
  for (const auto& info : file->infos_) {
    if (info.begin == info.end) continue;  // empty tensors own no bytes
    LETHE_CHECK(!previous || info.begin >= previous->end, where, ": tensors '", previous->name,
                "' [", previous->begin, ", ", previous->end, ") and '", info.name, "' [",
                info.begin, ", ", info.end, ") overlap");
    previous = &info;
  }
  for (size_t i = 0; i < file->infos_.size(); ++i) {
    file->names_.push_back(file->infos_[i].name);
    file->index_[file->infos_[i].name] = i;
  }
  return file;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  LETHE_CHECK(it != index_.end(), path_.string(), ": no tensor named '", name, "'");
  return infos_[it->second];
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& meta = info(name);
  auto options = torch::TensorOptions().dtype(meta.dtype);
  void* ptr = const_cast<uint8_t*>(data_ + meta.begin);
  std::shared_ptr<MappedFile> keep = mapping_;
  torch::Tensor view = torch::from_blob(
      ptr, meta.shape, [keep](void*) mutable { keep.reset(); }, options);
  // Kernels may assume natural alignment; a writer with odd offsets costs one copy of that tensor.
  if (reinterpret_cast<uintptr_t>(ptr) % c10::elementSize(meta.dtype) != 0) return view.clone();
  return view;
}

StateDict SafetensorsFile::tensors() const {
  StateDict out;
  for (const auto& name : names_) out.emplace(name, tensor(name));
  return out;
}

StateDict load_safetensors(const fs::path& path) { return SafetensorsFile::open(path)->tensors(); }

void write_safetensors(const fs::path& path, const StateDict& tensors, const Metadata& metadata) {
  struct Item {
    const std::string* name;
    const torch::Tensor* tensor;
    const DtypeEntry* dtype;
    uint64_t nbytes;
  };
  std::vector<Item> items;
  for (const auto& [name, tensor] : tensors) {
    LETHE_CHECK(name != "__metadata__", path.string(), ": '__metadata__' is not a tensor name");
    LETHE_CHECK(tensor.defined(), path.string(), ": tensor '", name, "' is undefined");
    LETHE_CHECK(tensor.layout() == torch::kStrided, path.string(), ": tensor '", name,
                "' is not dense");
    const DtypeEntry& entry = entry_for(tensor.scalar_type());
    items.push_back(
        {&name, &tensor, &entry, static_cast<uint64_t>(tensor.numel()) * tensor.element_size()});
  }
  // The Python writer's order: widest dtype first (keeps every tensor aligned), then by name.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.dtype->rank != b.dtype->rank ? a.dtype->rank > b.dtype->rank : *a.name < *b.name;
  });

  std::string header = "{";
  if (!metadata.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header += "\"__metadata__\":" + meta.dump() + ",";
  }
  uint64_t offset = 0;
  for (const auto& item : items) {
    header += json(*item.name).dump() + ":{\"dtype\":\"" + item.dtype->name + "\",\"shape\":[";
    for (int64_t i = 0; i < item.tensor->dim(); ++i)
      header += (i ? "," : "") + std::to_string(item.tensor->size(i));
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + item.nbytes) + "]},";
    offset += item.nbytes;
  }
  if (header.back() == ',') header.pop_back();
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  if (!path.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    LETHE_CHECK(!ec, path.parent_path().string(), ": cannot create folder: ", ec.message());
  }
  const fs::path tmp = core::temp_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LETHE_CHECK(out.good(), path.string(), ": cannot write into ", tmp.parent_path().string(), ": ",
                std::strerror(errno));
    const uint64_t header_len = header.size();
    out.write(reinterpret_cast<const char*>(&header_len), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& item : items) {
      if (!out.good()) break;  // keeps errno of the failed write
      // One tensor at a time on the CPU, so a GPU model is never copied whole.
      torch::Tensor cpu = item.tensor->detach().to(torch::kCPU).contiguous();
      out.write(static_cast<const char*>(cpu.data_ptr()),
                static_cast<std::streamsize>(item.nbytes));
    }
    out.flush();
    if (!out.good()) {
      const int err = errno;  // of the failed write(2): ENOSPC, EFBIG, EDQUOT, EIO
      out.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      LETHE_FAIL(path.string(), ": cannot write: ", err ? std::strerror(err) : "I/O error",
                 " (the file was not changed)");
    }
  }
  core::commit_temp_file(tmp, path);
}

}  // namespace lethe::io
