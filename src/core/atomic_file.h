// Crash-safe file writes: content goes to a temporary file in the same folder, is flushed, then renamed.
// A reader therefore sees the old file or the new one, never a half-written one.
#pragma once
#include <filesystem>
#include <string>

namespace lethe::core {

// Writes `content` to `path` atomically; creates parent folders.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

// Reads a whole file; throws lethe::Error naming the path when it cannot.
std::string read_file(const std::filesystem::path& path);

// Appends one line (a newline is added) and fsyncs; for append-only logs such as metrics.jsonl.
void append_line(const std::filesystem::path& path, const std::string& line);

// A temporary path next to `path` unique to this process, for writers that produce files themselves.
std::filesystem::path temp_path_for(const std::filesystem::path& path);

// Renames `tmp` onto `path` after fsyncing it (the second half of write_file_atomic).
void commit_temp_file(const std::filesystem::path& tmp, const std::filesystem::path& path);

}  // namespace lethe::core
