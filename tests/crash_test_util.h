// Helpers of the crash-safety tests: run the lethe binary as a child process that can be SIGKILLed
// at a chosen moment, or run it under resource limits (a file-size limit standing in for a full
// disk, no CAP_DAC_OVERRIDE so that a root test still meets read-only folders), and check that a
// folder holds no half-written or corrupt file.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace lethe::test {

// How a child run ended.
struct ChildResult {
  bool killed = false;  // SIGKILLed by us before it finished
  int exit_code = -1;   // when it exited by itself; -1 when a signal ended it
  int signal = 0;       // the signal that ended it (ours or another)
  double seconds = 0;   // wall time
  std::string output;   // stdout + stderr
};

struct ChildLimits {
  long long file_size_bytes = -1;  // RLIMIT_FSIZE (writes past it fail with EFBIG); -1: none
  bool drop_dac_override = false;  // root loses the right to ignore file permissions
};

// `lethe ARGS...` started as a child process (stdout + stderr to a log), for tests that run several
// at once; killed and reaped by the destructor when still running.
class LetheChild {
 public:
  explicit LetheChild(const std::vector<std::string>& args, const ChildLimits& limits = {});
  LetheChild(const LetheChild&) = delete;
  LetheChild& operator=(const LetheChild&) = delete;
  ~LetheChild();

  int pid() const { return pid_; }
  bool running();  // false once it has exited (reaps it)
  void kill();     // SIGKILL when still running
  // Waits for the end; SIGKILLs it once `kill_after_s` seconds after the start have passed (< 0:
  // never).
  ChildResult wait(double kill_after_s = -1);

 private:
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  bool killed_ = false;
  std::string log_path_;
  std::chrono::steady_clock::time_point start_;
};

// Runs `lethe ARGS...`; SIGKILLs it after `kill_after_s` seconds (< 0: never) when it is still
// running.
ChildResult run_lethe_child(const std::vector<std::string>& args, double kill_after_s = -1,
                            const ChildLimits& limits = {});

// While alive, this process's RLIMIT_FSIZE soft limit is `bytes`, with SIGXFSZ ignored: a write
// past it fails with EFBIG, as a write to a full disk fails with ENOSPC.
class ScopedFileSizeLimit {
 public:
  explicit ScopedFileSizeLimit(long long bytes);
  ~ScopedFileSizeLimit();

 private:
  long long old_soft_ = -1;
  void (*old_handler_)(int) = nullptr;
};

// While alive, the calling thread cannot bypass file permissions (CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH leave its effective set), so a test running as root meets a read-only
// folder the way any user does. A no-op for other users.
class ScopedNoDacOverride {
 public:
  ScopedNoDacOverride();
  ~ScopedNoDacOverride();

 private:
  bool dropped_ = false;
  unsigned effective_[2] = {0, 0};
};

// Every regular file under `dir` (recursively, sorted).
std::vector<std::string> files_under(const std::string& dir);

// Fails the current test for each leftover temporary or partial file under `dir` (a name with
// ".tmp" or ".partial" in it) when `allow_temp` is false, and for each complete-looking file that
// does not parse: *.json, every line of *.jsonl, *.safetensors (header and byte ranges).
void expect_no_corrupt_files(const std::string& dir, bool allow_temp);

}  // namespace lethe::test
