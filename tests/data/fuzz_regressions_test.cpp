// Replays the saved inputs of past fuzz findings for dataset (tests/fuzz_regressions/<target>/)
// through the libFuzzer targets' entry points: each parses or throws lethe::Error, never crashes.
#include <gtest/gtest.h>

#include "../../fuzz/dataset_entry.h"
#include "fuzz_replay.h"

namespace lethe {
namespace {

TEST(FuzzRegressions, DatasetInputsParseOrThrowLetheError) {
  test::replay_fuzz_regressions("dataset", fuzz::dataset);
}

}  // namespace
}  // namespace lethe
