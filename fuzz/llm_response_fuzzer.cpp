// libFuzzer target: llm_response (see llm_response_entry.h).
#include "fuzz_harness.h"
#include "llm_response_entry.h"

LETHE_FUZZ_TARGET(lethe::fuzz::llm_response)
