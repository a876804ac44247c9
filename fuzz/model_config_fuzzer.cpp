// libFuzzer target: model_config (see model_config_entry.h).
#include "fuzz_harness.h"
#include "model_config_entry.h"

LETHE_FUZZ_TARGET(lethe::fuzz::model_config)
