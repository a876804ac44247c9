// SHA-256 of strings and files (FIPS 180-4), for manifests, caches and audit records.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lethe::core {

std::string sha256_hex(const std::string& data);
// Streams the file; throws lethe::Error naming the path when unreadable.
std::string sha256_file(const std::filesystem::path& path);
// Hash of every regular file under a folder (sorted relative paths and their hashes), except the
// lock file of a command writing it (core::kDirLockFile), which a killed command leaves behind.
std::string sha256_tree(const std::filesystem::path& folder);
// The listing sha256_tree hashes: {relative path, sha256} of every regular file, sorted by path.
std::vector<std::pair<std::string, std::string>> sha256_tree_files(
    const std::filesystem::path& folder);
// sha256_tree of a listing from sha256_tree_files.
std::string sha256_tree_of(const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace lethe::core
