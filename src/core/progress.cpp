// Progress bar with ETA; plain lines at most every 10 s when stderr is not a terminal.
#include "core/progress.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>

namespace lethe::core {

namespace {
std::atomic<bool> g_quiet{false};
}

void Progress::set_quiet(bool quiet) { g_quiet = quiet; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (!finished_ && tty_ && !g_quiet && done_ > 0) std::fprintf(stderr, "\n");
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(int64_t done, const std::string& status) {
  done_ = done;
  if (g_quiet) return;
  auto now = std::chrono::steady_clock::now();
  double since_print = std::chrono::duration<double>(now - last_print_).count();
  bool last = total_ > 0 && done >= total_;
  if (tty_ ? since_print < 0.1 && !last : since_print < 10.0 && !last) return;
  last_print_ = now;
  double elapsed = elapsed_seconds();
  double eta = (done > 0 && total_ > 0) ? elapsed / done * (total_ - done) : NAN;
  std::string line;
  if (total_ > 0) {
    const int width = 24;
    int filled = static_cast<int>(width * std::min<double>(1.0, double(done) / total_));
    line = label_ + " [" + std::string(filled, '#') + std::string(width - filled, '.') + "] " +
           std::to_string(done) + "/" + std::to_string(total_);
  } else {
    line = label_ + " " + std::to_string(done);
  }
  if (!status.empty()) line += " " + status;
  line += " | " + format_duration(elapsed) + " elapsed, ETA " + format_duration(eta);
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (g_quiet) return;
  std::string line = label_ + " done: " + std::to_string(done_) +
                     (total_ > 0 ? "/" + std::to_string(total_) : "") +
                     (status.empty() ? "" : " " + status) + " in " + format_duration(elapsed_seconds());
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s\n", line.c_str());
  else
    std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace lethe::core
