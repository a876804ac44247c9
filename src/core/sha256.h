// SHA-256 of strings and files (FIPS 180-4), for manifests, caches and audit records.
#pragma once
#include <filesystem>
#include <string>

namespace lethe::core {

std::string sha256_hex(const std::string& data);
// Streams the file; throws lethe::Error naming the path when unreadable.
std::string sha256_file(const std::filesystem::path& path);
// Hash of every regular file under a folder (sorted relative paths and their hashes), except the
// lock file of a command writing it (core::kDirLockFile), which a killed command leaves behind.
std::string sha256_tree(const std::filesystem::path& folder);

}  // namespace lethe::core
