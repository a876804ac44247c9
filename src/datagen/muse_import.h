// `lethe data import muse`: MUSE's published JSON files (swj0419/muse_bench data/<corpus>/, Shi et
// al. 2024) turned into a lethe dataset folder (docs/data.md, "MUSE"). Reads and validates the
// files; does not download them.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::datagen {

inline constexpr const char* kMuseImporterName = "muse_import";
inline constexpr const char* kMuseImporterVersion = "1";
inline constexpr const char* kMuseBenchmark = "muse";
// MUSE's privleak passages (forget / retain / holdout), kept for passage-level MIA.
inline constexpr const char* kMusePrivleakFile = "muse_privleak.jsonl";

struct MuseImportOptions {
  std::filesystem::path src;    // data/<corpus> of muse_bench: knowmem/, verbmem/, privleak/
  std::filesystem::path out;    // dataset folder to write
  std::string corpus = "news";  // news | books (recorded in the manifest)
};

// Reads the MUSE files under options.src and writes the folder as one (nothing is written on an
// error). Throws lethe::Error "FILE:LINE: ..." for malformed JSON or a missing / unexpected /
// mistyped field. Returns the manifest.
nlohmann::json import_muse(const MuseImportOptions& options);

}  // namespace lethe::datagen
