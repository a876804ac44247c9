// libFuzzer target: tokenizer (see tokenizer_entry.h).
#include "fuzz_harness.h"
#include "tokenizer_entry.h"

LETHE_FUZZ_TARGET(lethe::fuzz::tokenizer)
