// GoogleTest entry point: quiet progress output, deterministic threads.
#include <gtest/gtest.h>

#include "core/progress.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  lethe::core::Progress::set_quiet(true);
  lethe::core::setup_threads(0);
  return RUN_ALL_TESTS();
}
