// Crash-safe writes via write-to-temp + fsync + rename.
#include "core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>  // renameat2, RENAME_EXCHANGE (glibc >= 2.28)
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace lethe::core {
namespace fs = std::filesystem;

namespace {
void fsync_path(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// This machine's name, part of temporary names: shards on several hosts may share a folder.
const std::string& host_name() {
  static const std::string name = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0 || !buf[0]) return std::string("localhost");
    std::string s(buf);
    std::replace(s.begin(), s.end(), '/', '_');
    return s;
  }();
  return name;
}

// Removes the temporaries ".NAME.tmp.HOST.PID" (or ".NAME.tmp.PID") of `path` left by processes of
// this host that no longer run (SIGKILL, power loss). Others' and live ones are left alone.
void remove_stale_temps(const fs::path& path) {
  const std::string prefix = "." + path.filename().string() + ".tmp.";
  std::error_code ec;
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    const size_t dot = rest.rfind('.');
    const std::string host = dot == std::string::npos ? host_name() : rest.substr(0, dot);
    const std::string pid_text = dot == std::string::npos ? rest : rest.substr(dot + 1);
    if (host != host_name() || pid_text.empty() ||
        pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    fs::remove_all(it->path(), ignored);  // a file, or write_dir_atomic's folder
  }
}

}  // namespace

fs::path temp_path_for(const fs::path& path) {
  remove_stale_temps(path);
  return path.parent_path() / ("." + path.filename().string() + ".tmp." + host_name() + "." +
                               std::to_string(::getpid()));
}

void commit_temp_file(const fs::path& tmp, const fs::path& path) {
  fsync_path(tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string reason = ec.message();  // before remove() reuses ec ("...: Success")
    fs::remove(tmp, ec);
    LETHE_FAIL(path.string(), ": cannot replace file: ", reason);
  }
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

namespace {

// The first half of an atomic write: `content` in a fresh temporary next to `path` (returned).
fs::path write_temp_file(const fs::path& path, const std::string& content) {
  if (!path.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    LETHE_CHECK(!ec, path.parent_path().string(), ": cannot create folder: ", ec.message());
  }
  const fs::path tmp = temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  LETHE_CHECK(fd >= 0, path.string(), ": cannot write into ",
              path.parent_path().empty() ? std::string(".") : path.parent_path().string(), ": ",
              std::strerror(errno));
  const char* data = content.data();
  size_t left = content.size();
  int err = 0;
  while (left > 0 && err == 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
    } else {
      data += n;
      left -= static_cast<size_t>(n);
    }
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    LETHE_FAIL(path.string(), ": cannot write: ", std::strerror(err),
               " (the file was not changed)");
  }
  return tmp;
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::string& content) {
  commit_temp_file(write_temp_file(path, content), path);
}

StagedFiles::~StagedFiles() {
  for (const auto& [tmp, target] : staged_) {
    std::error_code ec;
    fs::remove(tmp, ec);
  }
}

void StagedFiles::add(const fs::path& path, const std::string& content) {
  staged_.emplace_back(write_temp_file(path, content), path);
}

void StagedFiles::commit() {
  // Renames do not allocate space: once every temporary is written, they go through.
  while (!staged_.empty()) {
    auto [tmp, target] = staged_.front();
    staged_.erase(staged_.begin());
    commit_temp_file(tmp, target);
  }
}

namespace {

// fsyncs every file and folder under `dir`, then `dir` itself (children first: a folder's entry
// is durable once the folder is synced).
void fsync_tree(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() || entry.is_directory()) fsync_path(entry.path());
  fsync_path(dir);
}

// Swaps two existing paths in one step; false where the kernel or filesystem cannot.
bool exchange_paths(const fs::path& a, const fs::path& b) {
#ifdef RENAME_EXCHANGE
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
#else
  (void)a, (void)b;
  return false;
#endif
}

}  // namespace

void write_dir_atomic(const fs::path& dir, const std::function<void(const fs::path&)>& write) {
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  LETHE_CHECK(!ec, parent.string(), ": cannot create folder: ", ec.message());
  const fs::path tmp = temp_path_for(dir);
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  LETHE_CHECK(!ec, dir.string(), ": cannot create a temporary folder: ", ec.message());
  try {
    write(tmp);
    fsync_tree(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(dir)) {
    if (exchange_paths(tmp, dir)) {
      fsync_path(parent);
      fs::remove_all(tmp, ec);  // now the old folder
      return;
    }
    // No exchange on this filesystem: the old folder goes aside until the new one is in place.
    const fs::path old = temp_path_for(parent / (dir.filename().string() + ".old"));
    fs::remove_all(old, ec);
    fs::rename(dir, old, ec);
    if (ec) {
      const std::string message = ec.message();
      fs::remove_all(tmp, ec);
      LETHE_FAIL(dir.string(), ": cannot replace folder: ", message);
    }
    fs::rename(tmp, dir, ec);
    if (ec) {
      const std::string message = ec.message();
      fs::rename(old, dir, ec);
      fs::remove_all(tmp, ec);
      LETHE_FAIL(dir.string(), ": cannot replace folder: ", message);
    }
    fsync_path(parent);
    fs::remove_all(old, ec);
    return;
  }
  fs::rename(tmp, dir, ec);
  if (ec) {
    const std::string message = ec.message();
    fs::remove_all(tmp, ec);
    LETHE_FAIL(dir.string(), ": cannot create folder: ", message);
  }
  fsync_path(parent);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in.good(), path.string(),
              ": cannot open: ", fs::exists(path) ? std::strerror(errno) : "no such file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_line(const fs::path& path, const std::string& line) {
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  LETHE_CHECK(fd >= 0, path.string(), ": cannot open for appending: ", std::strerror(errno));
  std::string data = line + "\n";
  const ssize_t written = ::write(fd, data.data(), data.size());
  const int err = written < 0 ? errno : 0;
  ::fsync(fd);
  ::close(fd);
  LETHE_CHECK(written == static_cast<ssize_t>(data.size()), path.string(),
              ": cannot append: ", err ? std::strerror(err) : "short write (disk full?)");
}

}  // namespace lethe::core
