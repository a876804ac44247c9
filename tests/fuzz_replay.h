// Replays the saved inputs of past fuzz findings (tests/fuzz_regressions/<target>/) through the
// same entry point as the libFuzzer target (fuzz/<target>_entry.h): each must parse or throw
// lethe::Error. Any other exception fails the test; a crash fails the whole suite.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "lethe_source_dir.h"

namespace lethe::test {

// The regression inputs of `target`, sorted by name.
inline std::vector<std::filesystem::path> fuzz_regressions(const std::string& target) {
  std::vector<std::filesystem::path> files;
  const auto dir = std::filesystem::path(LETHE_SOURCE_DIR) / "tests" / "fuzz_regressions" / target;
  if (std::filesystem::is_directory(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Runs every regression input of `target` through `entry(data, size)`; returns how many it ran.
// A target without inputs fails: a replay of nothing cannot catch anything (add a replay TEST for
// a target when it gets its first finding, not before).
template <typename Entry>
size_t replay_fuzz_regressions(const std::string& target, Entry entry) {
  const auto files = fuzz_regressions(target);
  if (files.empty()) ADD_FAILURE() << "no regression inputs in tests/fuzz_regressions/" << target;
  for (const auto& path : files) {
    const std::string bytes = core::read_file(path);
    try {
      entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const Error&) {
      // rejected with a one-line error: what a parser should do with bad input
    } catch (const std::exception& e) {
      ADD_FAILURE() << path.string() << ": escaped a non-lethe exception: " << e.what();
    }
  }
  return files.size();
}

// The lethe::Error message that regression input tests/fuzz_regressions/<target>/<file> gets
// ("" when it parses).
template <typename Entry>
std::string fuzz_regression_error(const std::string& target, const std::string& file, Entry entry) {
  const std::string bytes = core::read_file(std::filesystem::path(LETHE_SOURCE_DIR) / "tests" /
                                            "fuzz_regressions" / target / file);
  try {
    entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace lethe::test
