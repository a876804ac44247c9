// core::setup_threads sizes both thread pools that run lethe's math: libtorch's intra-op pool and,
// when libtorch uses OpenBLAS, OpenBLAS's own pool (which otherwise keeps every core busy-waiting).
#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lethe
