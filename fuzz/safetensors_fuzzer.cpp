// libFuzzer target: safetensors (see safetensors_entry.h).
#include "fuzz_harness.h"
#include "safetensors_entry.h"

LETHE_FUZZ_TARGET(lethe::fuzz::safetensors)
