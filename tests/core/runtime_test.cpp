// core::setup_threads sizes both thread pools that run lethe's math: libtorch's intra-op pool and,
// when libtorch uses OpenBLAS, OpenBLAS's own pool (which otherwise keeps every core busy-waiting).
#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace lethe {
namespace {

TEST(Runtime, SetupThreadsSizesTorchAndBlasPools) {
  using GetBlasThreads = int (*)();
  auto* get_blas_threads =
      reinterpret_cast<GetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const int before = at::get_num_threads();
  for (int n : {1, 2}) {
    EXPECT_EQ(core::setup_threads(n), n);
    EXPECT_EQ(at::get_num_threads(), n);
    // Debian's libtorch links OpenBLAS (install-deps.sh); other BLAS builds have no such pool.
    if (get_blas_threads) EXPECT_EQ(get_blas_threads(), n);
  }
  core::setup_threads(before);
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
