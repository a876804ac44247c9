// The lock a command holds on what it writes (core::DirLock), so that a second lethe command on the
// same run or model folder stops at once instead of corrupting the first one's files.
#pragma once
#include <optional>
#include <string>

#include "core/dir_lock.h"

namespace lethe::cli {

// The lock of an output folder; none when `out` is empty (the command itself then says that no
// output was given).
inline std::optional<core::DirLock> lock_output_folder(
    const std::string& out, core::LockMode mode = core::LockMode::exclusive) {
  if (out.empty()) return std::nullopt;
  return std::optional<core::DirLock>(std::in_place, out, mode);
}

// The lock of an output file (a results JSON): DIR/.FILE.lock beside it; none when `out` is empty.
inline std::optional<core::DirLock> lock_output_file(const std::string& out) {
  if (out.empty()) return std::nullopt;
  return std::optional<core::DirLock>(core::DirLock::for_output_file(out));
}

}  // namespace lethe::cli
