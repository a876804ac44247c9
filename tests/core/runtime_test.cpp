// core::setup_threads sizes both thread pools that run lethe's math: libtorch's intra-op pool and,
// when libtorch uses OpenBLAS, OpenBLAS's own pool (which otherwise keeps every core busy-waiting).
#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "core/error.h"
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

// dtype "auto" (issue 17): bf16 only where bf16 matmuls are fast. The rule and the cpuinfo parsing
// are tested on given inputs, so the test means the same on a Zen 3 and a Zen 4 machine.
TEST(Runtime, AutoDtypeIsBf16OnlyWhereItIsFast) {
  EXPECT_EQ(core::auto_dtype(/*cuda=*/true, /*cpu_fast_bf16=*/false), c10::kBFloat16);
  EXPECT_EQ(core::auto_dtype(false, true), c10::kBFloat16);
  EXPECT_EQ(core::auto_dtype(false, false), c10::kFloat);

  const std::string zen3 =
      "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx2 fma bmi2 vaes\n\n"
      "processor\t: 1\nflags\t\t: fpu sse avx2 fma bmi2 vaes\n";
  const std::string zen4 = "processor\t: 0\nflags\t\t: avx2 avx512f avx512_bf16 avx512_vnni\n";
  const std::string sapphire = "flags\t\t: avx512f amx_bf16 amx_tile\n";
  const std::string prefix_only = "flags\t\t: avx512_bf16x avx512f\n";  // whole words only
  EXPECT_FALSE(core::cpuinfo_has_fast_bf16(zen3));
  EXPECT_TRUE(core::cpuinfo_has_fast_bf16(zen4));
  EXPECT_TRUE(core::cpuinfo_has_fast_bf16(sapphire));
  EXPECT_FALSE(core::cpuinfo_has_fast_bf16(prefix_only));
  EXPECT_FALSE(core::cpuinfo_has_fast_bf16(""));

  // On this machine, "auto" on the CPU follows its own flags; explicit names are kept.
  const c10::Device cpu(c10::kCPU);
  EXPECT_EQ(core::parse_dtype("auto", cpu),
            core::cpu_has_fast_bf16() ? c10::kBFloat16 : c10::kFloat);
  EXPECT_EQ(core::parse_dtype("float32", cpu), c10::kFloat);
  try {
    core::parse_dtype("bf17", cpu);
    FAIL() << "an unknown dtype was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("expected auto, float32"), std::string::npos) << e.what();
  }
}

TEST(Runtime, Bf16OnASlowCpuWarnsInOneLine) {
  const std::string w = core::slow_bf16_warning("--dtype bfloat16", false, false);
  EXPECT_NE(w.find("--dtype bfloat16"), std::string::npos) << w;
  EXPECT_NE(w.find("40x slower"), std::string::npos) << w;
  EXPECT_EQ(w.find('\n'), std::string::npos) << w;
  EXPECT_EQ(core::slow_bf16_warning("--dtype bfloat16", false, true), "");
  EXPECT_EQ(core::slow_bf16_warning("--dtype bfloat16", true, false), "");
}

}  // namespace
}  // namespace lethe
