// Progress reporting for long work: a redrawn bar on a terminal, plain log lines otherwise.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lethe::core {

class Progress {
 public:
  // `label` prefixes every line; `total` is the number of steps (0 when unknown).
  Progress(std::string label, int64_t total);
  ~Progress();

  // Advances to `done` steps; `status` is free text such as "loss 1.234 tok/s 5120".
  void update(int64_t done, const std::string& status = "");
  // Prints the final line (always, also when not on a terminal).
  void finish(const std::string& status = "");

  double elapsed_seconds() const;

  // Globally silences progress output (tests, --quiet).
  static void set_quiet(bool quiet);

 private:
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

// "1m05s", "42s", "1h02m".
std::string format_duration(double seconds);

}  // namespace lethe::core
