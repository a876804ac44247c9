// Fuzz entry: YAML config files through read_config_file, a to_yaml / read round trip, and the
// `lethe run` config resolution (default and --quick profiles).
#pragma once
#include "fuzz_common.h"
#include "pipeline/run_config.h"
#include "train/config_file.h"

namespace lethe::fuzz {

inline void yaml_config(const uint8_t* data, size_t size) {
  const auto path = write_scratch("config.yaml", data, size);
  const nlohmann::json config = train::read_config_file(path);
  const auto again_path = write_scratch("again.yaml", train::to_yaml(config));
  const nlohmann::json again = train::read_config_file(again_path);
  LETHE_FUZZ_ASSERT(again == config, "to_yaml/read_config_file round trip differs: " +
                                         brief(config) + " became " + brief(again));
  for (bool quick : {false, true}) {
    const auto resolved = pipeline::resolve_run_config(path, quick);
    LETHE_FUZZ_ASSERT(resolved.is_object() && resolved["model"].is_string(),
                      "resolved config lacks its model");
  }
}

}  // namespace lethe::fuzz
