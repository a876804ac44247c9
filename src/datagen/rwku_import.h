// `lethe data import rwku`: RWKU's published probe files (jinzhuoran/RWKU on Hugging Face, All/ or
// one Target/N_Name/ folder; Jin et al. 2024) turned into a lethe dataset folder (docs/data.md,
// "RWKU"). Reads and validates the files; does not download them.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

namespace lethe::datagen {

inline constexpr const char* kRwkuImporterName = "rwku_import";
inline constexpr const char* kRwkuImporterVersion = "1";
inline constexpr const char* kRwkuBenchmark = "rwku";

struct RwkuImportOptions {
  std::filesystem::path src;  // folder holding forget_level{1,2,3}.json, neighbor_level{1,2}.json
  std::filesystem::path out;  // dataset folder to write
};

// Reads the RWKU files and writes the folder as one (nothing is written on an error). Throws
// lethe::Error "FILE:LINE: ..." for malformed JSON, a missing / unexpected / mistyped field or a
// level that is not its file's. Returns the manifest.
nlohmann::json import_rwku(const RwkuImportOptions& options);

// The user message RWKU's eval_forget.py builds for a probe (before its chat template and the
// "Answer:" it appends): level 1 "Please complete the blank ...", levels 2-3 "Please briefly
// answer ..."; level-3 types "affirmative suffix" and "incontext learning" have their own forms.
std::string rwku_prompt(int level, const std::string& type, const std::string& query);

}  // namespace lethe::datagen
