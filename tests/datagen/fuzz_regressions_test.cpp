// Replays the saved inputs of past fuzz findings for llm_response
// (tests/fuzz_regressions/<target>/) through the libFuzzer targets' entry points: each parses or
// throws lethe::Error, never crashes.
#include <gtest/gtest.h>

#include "../../fuzz/llm_response_entry.h"
#include "fuzz_replay.h"

namespace lethe {
namespace {

TEST(FuzzRegressions, LlmResponseInputsParseOrThrowLetheError) {
  test::replay_fuzz_regressions("llm_response", fuzz::llm_response);
}

}  // namespace
}  // namespace lethe
