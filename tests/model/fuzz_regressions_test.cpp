// Replays the saved inputs of past fuzz findings for model_config
// (tests/fuzz_regressions/<target>/) through the libFuzzer targets' entry points: each parses or
// throws lethe::Error, never crashes.
#include <gtest/gtest.h>

#include "../../fuzz/model_config_entry.h"
#include "fuzz_replay.h"

namespace lethe {
namespace {

TEST(FuzzRegressions, ModelConfigInputsParseOrThrowLetheError) {
  test::replay_fuzz_regressions("model_config", fuzz::model_config);
}

// The findings: a number beyond double (1e406) escaped as json::out_of_range; a float in an
// integer field was cast to int64_t (undefined behaviour for 9.2e20).
TEST(FuzzRegressions, ModelConfigFindingsAreOneLineErrors) {
  EXPECT_NE(
      test::fuzz_regression_error("model_config", "number_overflow_1e406.json", fuzz::model_config)
          .find(": invalid JSON: "),
      std::string::npos);
  EXPECT_NE(test::fuzz_regression_error("model_config", "float_for_integer_field.json",
                                        fuzz::model_config)
                .find(": field 'max_window_layers' must be an integer, got 9.2"),
            std::string::npos);
}

}  // namespace
}  // namespace lethe
