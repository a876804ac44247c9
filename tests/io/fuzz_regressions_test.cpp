// Replays the saved inputs of past fuzz findings for adapter_config
// (tests/fuzz_regressions/<target>/) through the libFuzzer targets' entry points: each parses or
// throws lethe::Error, never crashes.
#include <gtest/gtest.h>

#include "../../fuzz/adapter_config_entry.h"
#include "fuzz_replay.h"

namespace lethe {
namespace {

TEST(FuzzRegressions, AdapterConfigInputsParseOrThrowLetheError) {
  test::replay_fuzz_regressions("adapter_config", fuzz::adapter_config);
}

// The finding: a number beyond double escaped read_json as json::out_of_range.
TEST(FuzzRegressions, AdapterConfigFindingIsAOneLineError) {
  EXPECT_NE(
      test::fuzz_regression_error("adapter_config", "number_overflow.json", fuzz::adapter_config)
          .find("adapter_config.json: invalid JSON: "),
      std::string::npos);
}

}  // namespace
}  // namespace lethe
