// `lethe data generate`: picks the backend, writes the dataset files and manifest.json atomically,
// and runs the quality checks. Backends are one explicit list (offline; the openai backend adds a
// line).
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "datagen/generate_options.h"
#include "datagen/quality_checks.h"

namespace lethe::datagen {

struct Backend {
  std::string name;  // the --backend value
  std::string generator;
  std::string version;
  std::function<data::Dataset(const GenerateOptions&)> generate;
};

const std::vector<Backend>& backends();

// Writes every JSONL file of `dataset` into `dir` and then manifest.json (counts per file and
// subset, seed, options, generator and version, sha256 and size of each file). Returns the
// manifest.
nlohmann::json write_dataset(const data::Dataset& dataset, const std::filesystem::path& dir,
                             const GenerateOptions& options, const Backend& backend);

struct GenerateResult {
  nlohmann::json manifest;
  std::optional<QualityReport> report;  // when options.check
  double seconds = 0;
};

// Validates the options, generates with the chosen backend, writes, checks (quality_report.*).
GenerateResult generate_dataset(const GenerateOptions& options);

}  // namespace lethe::datagen
