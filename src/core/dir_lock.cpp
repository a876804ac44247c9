// DirLock: flock(2) on a lock file inside the folder a command writes (see dir_lock.h).
#include "core/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "core/error.h"

namespace fs = std::filesystem;

namespace lethe::core {

namespace {

// True when `fd` is still the file at `path` (not one a releasing holder has just removed).
bool same_file(int fd, const fs::path& path) {
  struct stat by_fd {};
  struct stat by_path {};
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
         by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

void write_pid(int fd) {
  const std::string text = std::to_string(::getpid()) + "\n";
  // The pid only names the holder in another command's error; the lock holds without it (a full
  // disk may refuse these bytes).
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, text.data(), text.size(), 0);
}

// The holder writes its pid just after taking the lock: a second command racing it may read an
// empty file for a moment.
long wait_for_holder_pid(const fs::path& lock_file) {
  for (int i = 0; i < 20; ++i) {
    if (const long pid = lock_holder_pid(lock_file); pid > 0) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

}  // namespace

long lock_holder_pid(const fs::path& lock_file) {
  const int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[32] = {};
  const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return 0;
  return std::strtol(buf, nullptr, 10);
}

DirLock::DirLock(const fs::path& dir, LockMode mode, const std::string& name,
                 const std::string& subject)
    : mode_(mode) {
  // "runs/x/" names runs/x (its parent_path() would be runs/x itself).
  std::string text = dir.empty() ? std::string(".") : dir.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  folder_ = text;
  const std::string who = subject.empty() ? folder_.string() : subject;
  path_ = folder_ / name;
  const int operation = (mode == LockMode::shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
  for (int attempt = 0;; ++attempt) {
    LETHE_CHECK(attempt < 1000, who, ": cannot lock ", path_.string(),
                ": the lock file keeps being replaced");
    create_folder();
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) continue;  // a failed command removed the folder it made
    LETHE_CHECK(fd >= 0, subject.empty() ? "" : subject + ": ", "cannot write into ",
                folder_.string(), ": ", std::strerror(errno));
    if (::flock(fd, operation) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EINTR) continue;
      LETHE_CHECK(err == EWOULDBLOCK, who, ": cannot lock ", path_.string(), ": ",
                  std::strerror(err));
      const long pid = wait_for_holder_pid(path_);
      LETHE_FAIL(who, ": in use by another lethe process (",
                 pid > 0 ? "pid " + std::to_string(pid) : std::string("pid unknown"),
                 "); wait for it to finish or write elsewhere");
    }
    // A releasing holder removes the file while it still holds the lock: a lock taken on the
    // removed file protects nothing, so take the new one.
    if (same_file(fd, path_)) {
      fd_ = fd;
      break;
    }
    ::close(fd);
  }
  write_pid(fd_);
}

void DirLock::create_folder() {
  std::error_code ec;
  if (fs::is_directory(folder_, ec)) return;
  LETHE_CHECK(!fs::exists(fs::symlink_status(folder_, ec)), folder_.string(),
              ": is not a folder (a file of that name exists)");
  // The topmost folder this lock creates: removed again on release when nothing was written.
  fs::path top = folder_;
  while (top.has_parent_path() && top.parent_path() != top &&
         !fs::exists(fs::symlink_status(top.parent_path(), ec)))
    top = top.parent_path();
  fs::create_directories(folder_, ec);
  LETHE_CHECK(!ec, folder_.string(), ": cannot create folder: ", ec.message());
  if (created_top_.empty()) created_top_ = top;
}

DirLock DirLock::for_output_file(const fs::path& file) {
  std::error_code ec;
  LETHE_CHECK(!fs::is_directory(file, ec), file.string(), ": is a folder, not a file");
  return DirLock(file.parent_path(), LockMode::exclusive, "." + file.filename().string() + ".lock",
                 file.string());
}

DirLock::DirLock(DirLock&& other) noexcept
    : folder_(std::move(other.folder_)),
      path_(std::move(other.path_)),
      created_top_(std::move(other.created_top_)),
      mode_(other.mode_),
      fd_(other.fd_) {
  other.fd_ = -1;
}

DirLock::~DirLock() {
  if (fd_ < 0) return;
  // The last holder removes the file before letting go, so that a finished command leaves nothing
  // behind; a shared holder is the last one when it can take the lock exclusively.
  const bool last = mode_ == LockMode::exclusive || ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  if (last) ::unlink(path_.c_str());
  ::close(fd_);
  if (!last || created_top_.empty()) return;
  // A command that failed before writing anything leaves no empty folder behind (remove() removes
  // only empty folders).
  std::error_code ec;
  for (fs::path p = folder_; fs::remove(p, ec) && p != created_top_; p = p.parent_path()) {
  }
}

}  // namespace lethe::core
