// Reference-parity helper and small test utilities.
#include "expect_close.h"

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>

#include <torch/torch.h>

namespace lethe::test {

::testing::AssertionResult expect_close(const std::string& name, const std::vector<double>& got,
                                        const std::vector<double>& want, double atol, double rtol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << name << ": size " << got.size() << " != expected " << want.size();
  double worst = -1;
  size_t worst_i = 0;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    double diff = std::abs(got[i] - want[i]);
    double excess = diff - (atol + rtol * std::abs(want[i]));
    if (!(excess <= 0)) ++bad;
    if (!(excess <= worst) || std::isnan(got[i])) {
      worst = std::isnan(excess) ? INFINITY : excess;
      worst_i = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << name << ": " << bad << " of " << got.size() << " elements out of tolerance (atol "
         << atol << ", rtol " << rtol << "); worst at [" << worst_i << "]: got " << got[worst_i]
         << ", want " << want[worst_i] << ", |diff| " << std::abs(got[worst_i] - want[worst_i]);
}

::testing::AssertionResult expect_close(const std::string& name, const at::Tensor& got,
                                        const at::Tensor& want, double atol, double rtol) {
  if (got.sizes() != want.sizes()) {
    std::ostringstream s;
    s << name << ": shape " << got.sizes() << " != expected " << want.sizes();
    return ::testing::AssertionFailure() << s.str();
  }
  auto g = got.detach().to(torch::kCPU, torch::kDouble).contiguous().reshape({-1});
  auto w = want.detach().to(torch::kCPU, torch::kDouble).contiguous().reshape({-1});
  std::vector<double> gv(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
  std::vector<double> wv(w.data_ptr<double>(), w.data_ptr<double>() + w.numel());
  return expect_close(name, gv, wv, atol, rtol);
}

std::string fixture_path(const std::string& relative) {
  return std::string(LETHE_FIXTURES_DIR) + "/" + relative;
}

namespace {

// The folders make_temp_dir handed out; removed when the test binary exits after a green run (a
// failed run keeps them for a look, as does LETHE_KEEP_TEST_DIRS=1).
std::vector<std::filesystem::path>& temp_dirs() {
  static std::vector<std::filesystem::path> dirs;
  return dirs;
}

void remove_temp_dirs() {
  const char* keep = std::getenv("LETHE_KEEP_TEST_DIRS");
  if ((keep && *keep && std::string(keep) != "0") ||
      !::testing::UnitTest::GetInstance()->Passed())
    return;
  for (const auto& dir : temp_dirs()) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

}  // namespace

std::string make_temp_dir(const std::string& tag) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             ("lethe_test_" + tag + "_" + std::to_string(rd()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (temp_dirs().empty()) std::atexit(remove_temp_dirs);
  temp_dirs().push_back(dir);
  return dir.string();
}

int run_lethe(const std::string& args, std::string* output) {
  std::string cmd = std::string(LETHE_BINARY) + " " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  int status = ::pclose(pipe);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace lethe::test
