// Fuzz entry: a .safetensors file (header + data) through SafetensorsFile::open, every tensor read
// whole, and a write/read round trip of what was read.
#pragma once
#include <cstring>

#include "fuzz_common.h"
#include "io/safetensors.h"

namespace lethe::fuzz {

inline void safetensors(const uint8_t* data, size_t size) {
  const auto path = write_scratch("model.safetensors", data, size);
  const auto file = io::SafetensorsFile::open(path);
  uint64_t total = 0;
  io::StateDict tensors;
  for (const auto& name : file->names()) {
    const auto& info = file->info(name);
    torch::Tensor t = file->tensor(name).clone();  // reads every byte the header announces
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    LETHE_FUZZ_ASSERT(nbytes == info.end - info.begin, "tensor size differs from its byte range");
    LETHE_FUZZ_ASSERT(info.end <= size, "byte range beyond the file");
    total += nbytes;
    tensors.emplace(name, t);
  }
  if (total > (1u << 20)) return;
  const auto copy = scratch_dir() / "copy.safetensors";
  io::write_safetensors(copy, tensors, file->metadata());
  const auto back = io::SafetensorsFile::open(copy);
  LETHE_FUZZ_ASSERT(back->names().size() == tensors.size(), "round trip lost tensors");
  LETHE_FUZZ_ASSERT(back->metadata() == file->metadata(), "round trip changed the metadata");
  for (const auto& [name, t] : tensors) {
    torch::Tensor again = back->tensor(name).contiguous();
    LETHE_FUZZ_ASSERT(again.scalar_type() == t.scalar_type() && again.sizes() == t.sizes(),
                      "round trip changed a dtype or shape");
    const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    LETHE_FUZZ_ASSERT(n == 0 || std::memcmp(again.data_ptr(), t.data_ptr(), n) == 0,
                      "round trip changed tensor bytes");
  }
}

}  // namespace lethe::fuzz
