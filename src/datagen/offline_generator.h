// The offline benchmark generator: fictional target, background and holdout people drawn from the
// pools with one seeded random stream; no network, the same bytes for the same seed and options.
#pragma once
#include <string>

#include "data/dataset.h"
#include "datagen/generate_options.h"

namespace lethe::datagen {

inline constexpr const char* kOfflineGeneratorName = "lethe-offline";
inline constexpr const char* kOfflineGeneratorVersion = "1.0.0";

// Builds every record of a dataset in memory (nothing written); options must be valid.
data::Dataset generate_offline(const GenerateOptions& options);

}  // namespace lethe::datagen
