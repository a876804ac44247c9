// libFuzzer target: yaml_config (see yaml_config_entry.h).
#include "fuzz_harness.h"
#include "yaml_config_entry.h"

LETHE_FUZZ_TARGET(lethe::fuzz::yaml_config)
