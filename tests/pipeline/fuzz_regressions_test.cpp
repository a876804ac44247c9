// Replays the saved inputs of past fuzz findings for yaml_config (tests/fuzz_regressions/<target>/)
// through the libFuzzer targets' entry points: each parses or throws lethe::Error, never crashes.
#include <gtest/gtest.h>

#include "../../fuzz/yaml_config_entry.h"
#include "fuzz_replay.h"

namespace lethe {
namespace {

TEST(FuzzRegressions, YamlConfigInputsParseOrThrowLetheError) {
  test::replay_fuzz_regressions("yaml_config", fuzz::yaml_config);
}

// The findings: ill-formed UTF-8 passed through and broke the YAML round trip (and would break any
// JSON written from the config); a mapping used as a key threw YAML::TypedBadConversion; control
// characters (a NUL) came back from the round trip as another string.
TEST(FuzzRegressions, YamlConfigFindingsAreOneLineErrors) {
  EXPECT_NE(test::fuzz_regression_error("yaml_config", "invalid_utf8_key.yaml", fuzz::yaml_config)
                .find("config.yaml:7: not valid UTF-8"),
            std::string::npos);
  EXPECT_NE(test::fuzz_regression_error("yaml_config", "mapping_as_key.yaml", fuzz::yaml_config)
                .find("config.yaml:14: a key must be a plain string"),
            std::string::npos);
  EXPECT_NE(test::fuzz_regression_error("yaml_config", "control_characters.yaml", fuzz::yaml_config)
                .find("config.yaml:4: control character 0x14 is not allowed in a config file"),
            std::string::npos);
}

}  // namespace
}  // namespace lethe
