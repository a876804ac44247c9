// Crash-safe file writes: content goes to a temporary file in the same folder, is flushed, then
// renamed. A reader therefore sees the old file or the new one, never a half-written one.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace lethe::core {

// Writes `content` to `path` atomically; creates parent folders.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

// Several files written as one: add() writes each to its temporary at once, commit() renames them
// all into place. When an add() fails (disk full, read-only folder) or commit() is never reached,
// the temporaries are removed and every target keeps its previous content.
class StagedFiles {
 public:
  StagedFiles() = default;
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;
  ~StagedFiles();
  void add(const std::filesystem::path& path, const std::string& content);
  void commit();

 private:
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> staged_;  // {tmp, target}
};

// Writes a folder as one: `write` fills a fresh temporary folder next to `dir`, whose files and
// folders are then fsynced, and which is swapped into place (renameat2 RENAME_EXCHANGE, so a reader
// sees the old folder or the new one; where the filesystem cannot exchange, the old folder is moved
// aside first). A folder already at `dir` is replaced. When `write` throws, the temporary is
// removed and `dir` keeps its previous content.
void write_dir_atomic(const std::filesystem::path& dir,
                      const std::function<void(const std::filesystem::path&)>& write);

// Reads a whole file; throws lethe::Error naming the path when it cannot.
std::string read_file(const std::filesystem::path& path);

// Appends one line (a newline is added) and fsyncs; for append-only logs such as metrics.jsonl.
void append_line(const std::filesystem::path& path, const std::string& line);

// A temporary path next to `path` unique to this process (".NAME.tmp.HOST.PID"), for writers that
// produce files (or folders) themselves. Also removes the temporaries of `path` that killed
// processes of this host left behind, so an interrupted run leaves none once it is written again.
std::filesystem::path temp_path_for(const std::filesystem::path& path);

// Renames `tmp` onto `path` after fsyncing it (the second half of write_file_atomic).
void commit_temp_file(const std::filesystem::path& tmp, const std::filesystem::path& path);

}  // namespace lethe::core
