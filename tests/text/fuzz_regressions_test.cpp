// Replays the saved inputs of past fuzz findings for tokenizer (tests/fuzz_regressions/<target>/)
// through the libFuzzer targets' entry points: each parses or throws lethe::Error, never crashes.
#include <gtest/gtest.h>

#include "../../fuzz/tokenizer_entry.h"
#include "fuzz_replay.h"

namespace lethe {
namespace {

TEST(FuzzRegressions, TokenizerInputsParseOrThrowLetheError) {
  test::replay_fuzz_regressions("tokenizer", fuzz::tokenizer);
}

}  // namespace
}  // namespace lethe
