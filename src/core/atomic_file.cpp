// Crash-safe writes via write-to-temp + fsync + rename.
#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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
}  // namespace

fs::path temp_path_for(const fs::path& path) {
  return path.parent_path() /
         ("." + path.filename().string() + ".tmp." + std::to_string(::getpid()));
}

void commit_temp_file(const fs::path& tmp, const fs::path& path) {
  fsync_path(tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    LETHE_FAIL(path.string(), ": cannot replace file: ", ec.message());
  }
  fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  if (!path.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    LETHE_CHECK(!ec, path.parent_path().string(), ": cannot create folder: ", ec.message());
  }
  fs::path tmp = temp_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LETHE_CHECK(out.good(), tmp.string(), ": cannot open for writing: ", std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out.good()) {
      out.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      LETHE_FAIL(path.string(), ": write failed (disk full or read-only?)");
    }
  }
  commit_temp_file(tmp, path);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in.good(), path.string(), ": cannot open: ",
              fs::exists(path) ? std::strerror(errno) : "no such file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_line(const fs::path& path, const std::string& line) {
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  LETHE_CHECK(fd >= 0, path.string(), ": cannot open for appending: ", std::strerror(errno));
  std::string data = line + "\n";
  ssize_t written = ::write(fd, data.data(), data.size());
  ::fsync(fd);
  ::close(fd);
  LETHE_CHECK(written == static_cast<ssize_t>(data.size()), path.string(),
              ": append failed (disk full or read-only?)");
}

}  // namespace lethe::core
