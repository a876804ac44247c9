// An advisory lock on an output folder (or one output file) for as long as a command writes it, so
// that two lethe processes never write the same run or model folder at once. Not a lock between
// threads of one process: the CLI takes it once per command (src/cli/cmd_*.cpp).
#pragma once
#include <filesystem>
#include <string>

namespace lethe::core {

// The lock file a command creates inside the folder it writes; core::sha256_tree skips it.
inline constexpr const char* kDirLockFile = ".lethe.lock";

enum class LockMode {
  exclusive,  // one holder; any other lock of the same file fails
  shared,     // many shared holders (the shards of one sweep); an exclusive lock fails
};

// flock(2) on DIR/NAME, which holds the pid of the last holder (named in the error of a second
// command). The kernel drops a flock when its holder dies, SIGKILL included, so a killed command
// never leaves a stale lock: the next one takes it over. Released by the destructor, which also
// removes the lock file once no one else holds it, and the folders the lock created when they are
// still empty (a command that failed on bad input leaves no folder behind).
class DirLock {
 public:
  // Creates `dir` when absent and locks it; throws lethe::Error "DIR: in use by another lethe
  // process (pid N) ..." when another process holds it, and "DIR: cannot create folder: REASON" /
  // "cannot write into DIR: REASON" when the folder cannot be made or written.
  explicit DirLock(const std::filesystem::path& dir, LockMode mode = LockMode::exclusive,
                   const std::string& name = kDirLockFile, const std::string& subject = "");
  // The lock of one output file (results JSON): DIR/.FILE.lock beside it, errors naming the file.
  static DirLock for_output_file(const std::filesystem::path& file);

  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&&) = delete;
  ~DirLock();

  const std::filesystem::path& lock_file() const { return path_; }

 private:
  void create_folder();

  std::filesystem::path folder_;
  std::filesystem::path path_;         // folder_ / name
  std::filesystem::path created_top_;  // the topmost folder this lock created; empty: none
  LockMode mode_ = LockMode::exclusive;
  int fd_ = -1;
};

// The pid written in a lock file by its last holder; 0 when unreadable or empty.
long lock_holder_pid(const std::filesystem::path& lock_file);

}  // namespace lethe::core
