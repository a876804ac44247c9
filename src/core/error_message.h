// The one-line text the user sees for an exception. libstdc++'s std::filesystem_error reads
// "filesystem error: cannot create directories: Permission denied [/x/out]"; lethe names the path
// first, as its own errors do.
#pragma once
#include <exception>
#include <filesystem>
#include <string>

namespace lethe::core {

// "PATH: cannot create directories: REASON" (REASON = strerror of the errno); with a second path
// (rename, copy): "PATH: cannot rename to PATH2: REASON".
std::string filesystem_error_message(const std::filesystem::filesystem_error& e);

// filesystem_error_message for a std::filesystem_error, e.what() for any other exception.
std::string error_message(const std::exception& e);

}  // namespace lethe::core
