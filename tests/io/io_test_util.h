// Helpers for the io tests: the error message an action throws, and raw safetensors files.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace lethe::test {

// The lethe::Error message `action` throws, or "<no error>".
template <typename F>
std::string error_of(F&& action) {
  try {
    action();
  } catch (const lethe::Error& e) {
    return e.what();
  }
  return "<no error>";
}

// A raw safetensors file: 8-byte length (`header_len`, default the real one), header, data bytes.
inline void write_raw_safetensors(const std::filesystem::path& path, const std::string& header,
                                  const std::string& data, int64_t header_len = -1) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  uint64_t len = header_len < 0 ? header.size() : static_cast<uint64_t>(header_len);
  out.write(reinterpret_cast<const char*>(&len), 8);
  out << header << data;
}

}  // namespace lethe::test

#define EXPECT_HAS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "message: " << (haystack)
