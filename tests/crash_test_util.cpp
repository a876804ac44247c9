// Child processes with SIGKILL and rlimits, and the corrupt-file scan (see crash_test_util.h).
#include "crash_test_util.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "test_paths.h"

namespace lethe::test {
namespace fs = std::filesystem;

LetheChild::LetheChild(const std::vector<std::string>& args, const ChildLimits& limits) {
  char log_template[] = "/tmp/lethe_child_XXXXXX";
  const int log_fd = ::mkstemp(log_template);
  if (log_fd < 0) {
    ADD_FAILURE() << "mkstemp: " << std::strerror(errno);
    return;
  }
  log_path_ = log_template;
  std::vector<std::string> argv_strings = {LETHE_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  start_ = std::chrono::steady_clock::now();
  pid_ = ::fork();
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec.
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (limits.file_size_bytes >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit then fails with EFBIG instead
      struct rlimit r {
        static_cast<rlim_t>(limits.file_size_bytes), static_cast<rlim_t>(limits.file_size_bytes)
      };
      ::setrlimit(RLIMIT_FSIZE, &r);
    }
    if (limits.drop_dac_override) {
      // Dropped from the bounding set, root's exec'd program no longer holds them.
      ::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0);
      ::prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (pid_ < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
}

LetheChild::~LetheChild() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (!log_path_.empty()) ::unlink(log_path_.c_str());
}

bool LetheChild::running() {
  if (pid_ <= 0 || reaped_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

void LetheChild::kill() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    killed_ = true;
  }
}

ChildResult LetheChild::wait(double kill_after_s) {
  ChildResult result;
  if (pid_ <= 0) return result;
  while (running()) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (kill_after_s >= 0 && elapsed >= kill_after_s && !killed_) kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.killed = killed_;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (WIFEXITED(status_)) {
    result.exit_code = WEXITSTATUS(status_);
    result.killed = false;  // it finished before the signal landed
  } else if (WIFSIGNALED(status_)) {
    result.signal = WTERMSIG(status_);
    result.killed = result.killed && result.signal == SIGKILL;
  }
  std::ifstream log(log_path_);
  std::ostringstream text;
  text << log.rdbuf();
  result.output = text.str();
  return result;
}

ChildResult run_lethe_child(const std::vector<std::string>& args, double kill_after_s,
                            const ChildLimits& limits) {
  LetheChild child(args, limits);
  return child.wait(kill_after_s);
}

ScopedFileSizeLimit::ScopedFileSizeLimit(long long bytes) {
  struct rlimit r {};
  ::getrlimit(RLIMIT_FSIZE, &r);
  old_soft_ = static_cast<long long>(r.rlim_cur);
  old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
  r.rlim_cur = static_cast<rlim_t>(bytes);
  EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &r), 0) << std::strerror(errno);
}

ScopedFileSizeLimit::~ScopedFileSizeLimit() {
  struct rlimit r {};
  ::getrlimit(RLIMIT_FSIZE, &r);
  r.rlim_cur = static_cast<rlim_t>(old_soft_);
  ::setrlimit(RLIMIT_FSIZE, &r);
  ::signal(SIGXFSZ, old_handler_);
}

ScopedNoDacOverride::ScopedNoDacOverride() {
  if (::geteuid() != 0) return;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return;
  effective_[0] = data[0].effective;
  effective_[1] = data[1].effective;
  data[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
  dropped_ = ::syscall(SYS_capset, &header, data) == 0;
  EXPECT_TRUE(dropped_) << "capset: " << std::strerror(errno);
}

ScopedNoDacOverride::~ScopedNoDacOverride() {
  if (!dropped_) return;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  ::syscall(SYS_capget, &header, data);
  data[0].effective = effective_[0];
  data[1].effective = effective_[1];
  ::syscall(SYS_capset, &header, data);
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

namespace {

// Checks the safetensors layout without libtorch: 8-byte length, a JSON object header, and every
// tensor's data_offsets inside the data section.
std::string safetensors_problem(const std::string& bytes) {
  if (bytes.size() < 8) return "shorter than its 8-byte header length";
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8) return "header length beyond the end of the file";
  const auto header =
      nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + n, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return "header is not a JSON object";
  const uint64_t data_size = bytes.size() - 8 - n;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const auto& offsets = entry.value("data_offsets", nlohmann::json());
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[1].is_number_unsigned() ||
        offsets[1].get<uint64_t>() > data_size)
      return "tensor '" + name + "' lies beyond the end of the file (truncated)";
  }
  return "";
}

}  // namespace

void expect_no_corrupt_files(const std::string& dir, bool allow_temp) {
  for (const auto& path : files_under(dir)) {
    const std::string name = fs::path(path).filename().string();
    const bool temp =
        path.find(".tmp") != std::string::npos || path.find(".partial") != std::string::npos;
    if (temp) {
      if (!allow_temp) ADD_FAILURE() << "leftover temporary file " << path;
      continue;  // a temporary file may be half-written; that is what it is for
    }
    const std::string ext = fs::path(path).extension().string();
    if (ext != ".json" && ext != ".jsonl" && ext != ".safetensors") continue;
    const std::string bytes = core::read_file(path);
    if (ext == ".json") {
      EXPECT_FALSE(nlohmann::json::parse(bytes, nullptr, false).is_discarded())
          << "corrupt JSON " << path;
    } else if (ext == ".jsonl") {
      std::istringstream lines(bytes);
      std::string line;
      for (int n = 1; std::getline(lines, line); ++n)
        if (!line.empty())
          EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded())
              << "corrupt JSONL line " << n << " of " << path;
      EXPECT_TRUE(bytes.empty() || bytes.back() == '\n') << "torn last line of " << path;
    } else {
      const std::string problem = safetensors_problem(bytes);
      EXPECT_EQ(problem, "") << "corrupt safetensors " << path;
    }
  }
}

}  // namespace lethe::test
