// libFuzzer target: dataset (see dataset_entry.h).
#include "dataset_entry.h"
#include "fuzz_harness.h"

LETHE_FUZZ_TARGET(lethe::fuzz::dataset)
