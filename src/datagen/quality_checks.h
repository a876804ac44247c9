// Red-team quality checks of a dataset folder (`lethe data check`): rule checks in one explicit
// list, a report (JSON + text) with counts and flagged ids. A check is a function over the loaded
// dataset, so other passes (e.g. an LLM judge through the same client) are added as more Check
// entries.
#pragma once
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace lethe::datagen {

struct CheckResult {
  std::string name;
  std::string description;
  bool hard = true;    // a flagged hard check fails the dataset; a soft one only warns
  size_t checked = 0;  // items examined
  std::vector<std::string> flagged_ids;  // record ids (or file:line) with a problem
  std::vector<std::string> messages;     // one line per flag, same order as flagged_ids

  bool passed() const { return flagged_ids.empty(); }
  void flag(const std::string& id, const std::string& message) {
    flagged_ids.push_back(id);
    messages.push_back(message);
  }
};

// What a check may look at besides the dataset.
struct CheckContext {
  std::vector<std::string> load_errors;  // schema / cross-reference problems found while loading
  nlohmann::json options;                // the generation options from manifest.json (may be null)
};

struct Check {
  std::string name;
  std::string description;
  bool hard = true;
  std::function<void(const data::Dataset&, const CheckContext&, CheckResult&)> run;
};

// The rule checks, in report order: schema, leak_forget_into_retain, wrong_answers,
// paraphrase_keeps_answer, supported_by_fact, duplicate_questions, no_target_in_pretraining,
// probes_complete, subsets_balanced, corpus_size, manifest_matches.
const std::vector<Check>& rule_checks();

struct QualityReport {
  std::string dir;
  nlohmann::json counts;  // records per file and per subset
  std::vector<CheckResult> checks;

  bool passed() const;  // every hard check passed
  nlohmann::json to_json() const;
  std::string to_text() const;  // human-readable, flagged ids listed (first 20 per check)
};

// Runs the rule checks (and `extra` checks after them) on an already loaded dataset.
QualityReport check_dataset(const data::Dataset& dataset, const CheckContext& context,
                            const std::vector<Check>& extra = {});

// Loads `dir` collecting every schema error (never throws for a bad record) and runs the checks.
QualityReport check_dataset_dir(const std::filesystem::path& dir,
                                const std::vector<Check>& extra = {});

// Writes DIR/quality_report.json and DIR/quality_report.txt atomically.
void write_quality_report(const std::filesystem::path& dir, const QualityReport& report);

// Whether `wrong` is the same kind of value as `correct` for a fact's value_type (a year for a
// year, a city from the city vocabulary for a city, a full name for a person, ...).
bool same_kind(const std::string& value_type, const std::string& correct, const std::string& wrong);

}  // namespace lethe::datagen
