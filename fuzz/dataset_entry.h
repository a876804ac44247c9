// Fuzz entry: dataset JSONL records. Every line through each record type's from_json (and a
// to_json round trip of what parses), then the input split at "---" lines into the files of a
// dataset folder (profiles, facts, sf, sr, wrong_details, forget_eval, world, holdout, corpus,
// manifest.json) through load_dataset_collecting and load_dataset.
#pragma once
#include <sstream>

#include "core/error.h"
#include "data/dataset.h"
#include "data/records.h"
#include "fuzz_common.h"

namespace lethe::fuzz {

namespace detail {
template <typename Record>
void record_round_trip(const nlohmann::json& j) {
  Record r;
  try {
    r = Record::from_json(j, "line");
  } catch (const Error&) {
    return;
  }
  const nlohmann::json out = r.to_json();
  const nlohmann::json again = Record::from_json(out, "round trip").to_json();
  LETHE_FUZZ_ASSERT(again == out, "record to_json/from_json round trip differs");
}
}  // namespace detail

inline void dataset(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> sections(1);
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line == "---") {
      sections.emplace_back();
      continue;
    }
    sections.back() += line + "\n";
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    detail::record_round_trip<data::Profile>(j);
    detail::record_round_trip<data::Fact>(j);
    detail::record_round_trip<data::QAPair>(j);
    detail::record_round_trip<data::WrongDetails>(j);
    detail::record_round_trip<data::ForgetEvalProbe>(j);
    detail::record_round_trip<data::CorpusDoc>(j);
  }
  const auto dir = scratch_dir() / "dataset";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto& names = data::dataset_jsonl_files();
  for (size_t i = 0; i < sections.size() && i <= names.size(); ++i)
    write_scratch(std::filesystem::path("dataset") /
                      (i < names.size() ? names[i] : std::string(data::files::manifest)),
                  sections[i]);
  const auto collected = data::load_dataset_collecting(dir);
  try {
    const auto loaded = data::load_dataset(dir);
    LETHE_FUZZ_ASSERT(collected.errors.empty(), "load_dataset accepted what check reports");
    LETHE_FUZZ_ASSERT(data::cross_check(loaded).empty(), "load_dataset skipped its cross-check");
  } catch (const Error&) {
    LETHE_FUZZ_ASSERT(!collected.errors.empty(), "load_dataset failed where check found nothing");
  }
}

}  // namespace lethe::fuzz
