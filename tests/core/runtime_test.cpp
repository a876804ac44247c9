// core::setup_threads sizes both thread pools that run lethe's math: libtorch's intra-op pool and,
// when libtorch uses OpenBLAS, OpenBLAS's own pool (which otherwise keeps every core busy-waiting).
#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "crash_test_util.h"
#include "expect_close.h"

namespace lethe {
namespace {

TEST(Runtime, SetupThreadsSizesTorchAndBlasPools) {
  using GetBlasThreads = int (*)();
  auto* get_blas_threads =
      reinterpret_cast<GetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const int before = at::get_num_threads();
  for (int n : {1, std::min(2, core::available_cores())}) {
    EXPECT_EQ(core::setup_threads(n), n);
    EXPECT_EQ(at::get_num_threads(), n);
    // Debian's libtorch links OpenBLAS (install-deps.sh); other BLAS builds have no such pool.
    if (get_blas_threads) EXPECT_EQ(get_blas_threads(), n);
  }
  core::setup_threads(before);
}

// More threads than cores only contend (--threads 100000 started ~700 threads and never finished a
// 4-token generation): the count is capped at the available cores, with a one-line warning.
TEST(Runtime, SetupThreadsCapsAtTheAvailableCores) {
  const int before = at::get_num_threads();
  const int cores = core::available_cores();
  ASSERT_GE(cores, 1);
  testing::internal::CaptureStderr();
  const int used = core::setup_threads(100000);
  const std::string warning = testing::internal::GetCapturedStderr();
  EXPECT_EQ(used, cores);
  EXPECT_EQ(at::get_num_threads(), cores);
  EXPECT_EQ(warning, "lethe: warning: --threads 100000 is more than the " + std::to_string(cores) +
                         " available cores; using " + std::to_string(cores) + "\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(core::setup_threads(0), cores);  // 0: all cores, without a word
  EXPECT_EQ(core::setup_threads(cores), cores);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  core::setup_threads(before);
  // The command line (warning, then the command runs) is
  // ModelCommands.ThreadsAboveTheCoresWarnsThenRuns: it needs `lethe inspect`, which the core-only
  // sanitizer build does not have.
}

// CMakeLists.txt puts the OpenMP build of OpenBLAS first on lethe's RPATH when it is installed
// (scripts/install-deps.sh installs it): the pthread build's pool fought libtorch's OpenMP pool.
TEST(Runtime, LoadsTheOpenMpOpenBlasWhenInstalled) {
  const std::string openmp_dir = LETHE_OPENBLAS_OPENMP_DIR;
  if (!std::filesystem::exists(openmp_dir + "/libopenblas.so.0")) {
    // Without the package the build links the system's BLAS; only require that it is optimised.
    EXPECT_FALSE(core::using_reference_blas());
    return;
  }
  const std::string loaded = core::openblas_library();
  EXPECT_EQ(loaded.rfind(openmp_dir + "/", 0), 0u) << "loaded: " << loaded;
  using GetParallel = int (*)();
  auto* get_parallel = reinterpret_cast<GetParallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  ASSERT_NE(get_parallel, nullptr);
  EXPECT_EQ(get_parallel(), 2);  // 0 sequential, 1 pthreads, 2 OpenMP
}

}  // namespace
}  // namespace lethe
