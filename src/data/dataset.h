// A benchmark dataset folder (sf, sr, wrong_details, forget_eval, world, holdout, profiles, facts,
// corpus, manifest): loading every file with file:line errors and cross-checking the references
// between them.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/json_io.h"
#include "data/records.h"

namespace lethe::data {

// The file names inside a dataset folder.
namespace files {
inline constexpr const char* profiles = "profiles.jsonl";
inline constexpr const char* facts = "facts.jsonl";
inline constexpr const char* sf = "sf.jsonl";
inline constexpr const char* sr = "sr.jsonl";
inline constexpr const char* wrong_details = "wrong_details.jsonl";
inline constexpr const char* forget_eval = "forget_eval.jsonl";
inline constexpr const char* world = "world.jsonl";
inline constexpr const char* holdout = "holdout.jsonl";
inline constexpr const char* corpus = "corpus.jsonl";
inline constexpr const char* manifest = "manifest.json";
}  // namespace files

// The JSONL files in the order they are written and listed in the manifest.
const std::vector<std::string>& dataset_jsonl_files();

struct Dataset {
  std::filesystem::path dir;
  std::vector<Profile> profiles;
  std::vector<Fact> facts;
  std::vector<QAPair> sf;  // subset forget
  std::vector<QAPair> sr;  // subset correlated | other
  std::vector<WrongDetails> wrong_details;
  std::vector<ForgetEvalProbe> forget_eval;
  std::vector<QAPair> world;    // subset world
  std::vector<QAPair> holdout;  // subset holdout
  std::vector<CorpusDoc> corpus;
  json manifest;  // empty object when the folder has no manifest.json

  // Lookups (nullptr when absent); built by index().
  const Profile* profile(const std::string& id) const;
  const Fact* fact(const std::string& id) const;
  const WrongDetails* wrong_details_for(const std::string& qa_id) const;
  // sf + sr + world + holdout by id.
  const QAPair* qa(const std::string& id) const;

  // Rebuilds the lookup maps (call after editing the vectors).
  void index();

 private:
  std::map<std::string, size_t> profile_index_, fact_index_, wrong_index_;
  std::map<std::string, std::pair<int, size_t>>
      qa_index_;  // (0 sf | 1 sr | 2 world | 3 holdout, index)
};

// Reads every record of one JSONL file with its type's validation ("sf.jsonl:12: field ...").
std::vector<QAPair> load_qa(
    const std::filesystem::path& path);  // sf/sr/world/holdout or any QA JSONL
std::vector<CorpusDoc> load_corpus(const std::filesystem::path& path);

// Records as JSONL text (one to_json() per line).
template <typename Record>
std::string records_jsonl(const std::vector<Record>& records) {
  std::string out;
  for (const auto& r : records) {
    out += r.to_json().dump();
    out += '\n';
  }
  return out;
}

struct LoadResult {
  Dataset dataset;  // every record that parsed
  std::vector<std::string>
      errors;  // one line per problem: "sr.jsonl:4: field 'answer' missing", ...
};

// Loads what it can and collects every schema / cross-reference problem instead of throwing on the
// first (used by `lethe data check`). Throws only when `dir` is not a folder.
LoadResult load_dataset_collecting(const std::filesystem::path& dir);

// Loads and cross-checks a dataset folder; throws lethe::Error with the first problem.
// Cross-checks: ids unique per file, every QA names an existing fact and person with the same
// subset, every sf/sr question has wrong_details, every probe names an sf question, sf subsets are
// forget and sr subsets correlated or other, world/holdout records carry paraphrased and >= 5
// perturbed answers.
Dataset load_dataset(const std::filesystem::path& dir);

// The cross-reference problems of an already loaded dataset (empty when consistent).
std::vector<std::string> cross_check(const Dataset& dataset);

}  // namespace lethe::data
