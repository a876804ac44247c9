// What the benchmark importers (MUSE, RWKU) share: reading a published JSON file (a JSON array or
// JSON lines) with the FILE:LINE of each record, exact field lists, and writing the imported
// folder as one. TOFU's importer (tofu_import.cpp) reads JSON lines only and keeps its own reader.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"

namespace lethe::datagen {

// One record of a benchmark file with its "PATH:LINE" (the line its JSON value starts on).
struct BenchmarkRecord {
  std::string where;
  nlohmann::json value;
};

// A benchmark file's name (as in the benchmark's repository) and the fields its records have.
// `required` empty: the records are strings (MUSE's privleak passages), not objects.
struct BenchmarkFile {
  std::string name;  // "knowmem/forget_qa.json"
  std::vector<std::string> required;
  std::vector<std::string> optional;
};

// Reads src/file.name: a JSON array (one record per element) or JSON lines (one per non-blank
// line); checks each record's fields against the file's lists and records the file's sha256,
// bytes and record count in sources[file.name]. Throws lethe::Error "FILE:LINE: invalid JSON:
// ...", "FILE:LINE: field 'x' missing", "FILE:LINE: unexpected field 'x' (not in BENCH's FILE)".
std::vector<BenchmarkRecord> read_benchmark_file(const std::filesystem::path& src,
                                                 const BenchmarkFile& file,
                                                 const std::string& benchmark,
                                                 nlohmann::json& sources);

// The record's `field` (or the record itself when field is empty) as a non-empty string.
std::string text_field(const BenchmarkRecord& record, const std::string& field);

// The lines of `text` on which each element of its top-level JSON array starts (text must parse).
std::vector<size_t> array_element_lines(const std::string& text);

// A question of an imported benchmark: its own fact id ("f_" + id), no wrong answers or probes.
data::QAPair imported_qa(const std::string& id, const std::string& person_id, data::Subset subset,
                         const std::string& question, const std::string& answer);

// Writes the dataset's files, the `extra` files ({name, JSONL text}) and manifest.json (`manifest`
// plus counts, subsets, people, files) into dataset.dir as one (core::StagedFiles). Returns the
// manifest written.
nlohmann::json write_imported_folder(const data::Dataset& dataset,
                                     const std::vector<std::pair<std::string, std::string>>& extra,
                                     nlohmann::json manifest);

}  // namespace lethe::datagen
