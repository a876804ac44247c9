// Exception -> user text (see error_message.h).
#include "core/error_message.h"

namespace lethe::core {

std::string filesystem_error_message(const std::filesystem::filesystem_error& e) {
  const std::string reason = e.code().message();
  // what() is "filesystem error: WHAT: REASON [P1] [P2]" in libstdc++; keep WHAT ("cannot
  // rename"), the operation that failed.
  std::string operation = e.what();
  const std::string prefix = "filesystem error: ";
  if (operation.rfind(prefix, 0) == 0) operation.erase(0, prefix.size());
  const auto end = operation.find(": " + reason);
  if (end != std::string::npos) {
    operation.resize(end);
  } else if (const auto bracket = operation.find(" ["); bracket != std::string::npos) {
    operation.resize(bracket);
  }
  std::string out = e.path1().empty() ? std::string() : e.path1().string() + ": ";
  out += operation.empty() ? std::string("file system error") : operation;
  if (!e.path2().empty()) out += " to " + e.path2().string();
  return out + ": " + reason;
}

std::string error_message(const std::exception& e) {
  if (const auto* fs_error = dynamic_cast<const std::filesystem::filesystem_error*>(&e))
    return filesystem_error_message(*fs_error);
  return e.what();
}

}  // namespace lethe::core
