// Shared by the fuzz entry points (fuzz/*_entry.h), which both the libFuzzer targets (fuzz/) and
// the regression tests (tests/<area>/fuzz_regressions_test.cpp) call: a per-process scratch folder
// and the one way an entry point reports a broken property (an exception that is not lethe::Error).
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace lethe::fuzz {

// A property the parser must keep (a round trip, a size bound) does not hold. Deliberately not a
// lethe::Error: the harness turns it into a crash and the regression test into a failure.
class Violation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

#define LETHE_FUZZ_ASSERT(cond, what)                  \
  do {                                                 \
    if (!(cond)) throw ::lethe::fuzz::Violation(what); \
  } while (0)

// A short printable form of a JSON value for Violation messages (never throws on bad UTF-8).
template <typename Json>
std::string brief(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return text.size() > 400 ? text.substr(0, 400) + "..." : text;
}

// A folder of this process for the files an entry point writes; removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/lethe_fuzz_XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot create " + pattern);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

// Writes bytes to scratch_dir()/relative (plain write: the parsers, not the writer, are tested).
inline std::filesystem::path write_scratch(const std::filesystem::path& relative, const void* data,
                                           size_t size) {
  const std::filesystem::path path = scratch_dir() / relative;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out.good()) throw std::runtime_error("cannot write " + path.string());
  return path;
}

inline std::filesystem::path write_scratch(const std::filesystem::path& relative,
                                           const std::string& text) {
  return write_scratch(relative, text.data(), text.size());
}

}  // namespace lethe::fuzz
