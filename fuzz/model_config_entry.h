// Fuzz entry: config.json through ModelConfig::from_file, the parameter count, and a to_json /
// from_json round trip.
#pragma once
#include "fuzz_common.h"
#include "model/model_config.h"

namespace lethe::fuzz {

inline void model_config(const uint8_t* data, size_t size) {
  const auto path = write_scratch("config.json", data, size);
  const auto config = model::ModelConfig::from_file(path.string());
  LETHE_FUZZ_ASSERT(config.num_parameters() > 0, "a valid config has no parameters");
  const auto j = config.to_json();
  const auto back = model::ModelConfig::from_json(j, "round trip");
  LETHE_FUZZ_ASSERT(back.to_json() == j, "to_json/from_json round trip differs");
}

}  // namespace lethe::fuzz
