// libFuzzer target: adapter_config (see adapter_config_entry.h).
#include "adapter_config_entry.h"
#include "fuzz_harness.h"

LETHE_FUZZ_TARGET(lethe::fuzz::adapter_config)
