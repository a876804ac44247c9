// `lethe data import tofu`: TOFU's published JSON-lines files (locuslab/TOFU, Maini et al. 2024)
// turned into a lethe dataset folder (docs/data.md, "TOFU"). Reads and validates the files; does
// not download them.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace lethe::datagen {

inline constexpr const char* kTofuImporterName = "tofu_import";
inline constexpr const char* kTofuImporterVersion = "1";
// The retain questions a TOFU folder is fine-tuned and unlearnt with (all of retainNN.json);
// sr.jsonl holds only the ones TOFU evaluates (retain_perturbed.json).
inline constexpr const char* kTofuRetainTrainFile = "retain_train.jsonl";

struct TofuImportOptions {
  std::filesystem::path src;       // folder holding TOFU's *.json files
  std::filesystem::path out;       // dataset folder to write
  std::string split = "forget10";  // forget01 | forget05 | forget10
  int qa_per_author = 20;          // TOFU's files list each author's questions together, 20 each
};

// The TOFU splits: {forget split, its retain complement, its holdout set}.
struct TofuSplit {
  std::string forget;   // "forget10"
  std::string retain;   // "retain90"
  std::string holdout;  // "holdout10"
};
const std::vector<TofuSplit>& tofu_splits();

// An imported dataset in memory: the lethe records plus the retain training set and the
// manifest's "sources" (file name -> {sha256, bytes, records}).
struct TofuDataset {
  data::Dataset dataset;
  std::vector<data::QAPair> retain_train;
  nlohmann::json sources;
};

// Reads and validates the TOFU files of options.split; throws lethe::Error "FILE:LINE: ..." for a
// malformed line, a missing, mistyped or unexpected field, or files that disagree.
TofuDataset read_tofu(const TofuImportOptions& options);

// read_tofu, then writes every dataset file, retain_train.jsonl and manifest.json into options.out
// as one (core::StagedFiles). Returns the manifest.
nlohmann::json import_tofu(const TofuImportOptions& options);

}  // namespace lethe::datagen
