// `lethe run`: the whole study in one resumable command (issue 8): data -> fine-tune -> retain-only
// -> unlearning sweep -> evaluation -> relearning -> quantization -> representations -> plots ->
// audit records.
// Stages whose library is not in this build are reported "unavailable", never faked.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/stage.h"
#include "report/summary_table.h"

namespace lethe::pipeline {

struct RunOptions {
  std::optional<std::filesystem::path> config_file;  // YAML merged over the profile
  std::filesystem::path out = "runs/default";
  bool quick = false;                // the --quick profile
  std::optional<std::string> model;  // overrides config.model
};

struct RunSummary {
  std::filesystem::path run_dir;
  std::vector<StageOutcome> stages;
  std::vector<report::SummaryRow> rows;
  std::filesystem::path report;  // report.html when produced, else empty
  std::filesystem::path audit;   // audit.jsonl when the audit stage wrote it, else empty
  size_t audit_records = 0;
  double seconds = 0.0;
  int failed = 0;  // stages that failed after the evaluation (the core stages throw instead)
};

// Runs (or resumes) the study into options.out. Writes config.yaml (the resolved config) and
// run.json (seed, profile, stage outcomes, versions). Throws lethe::Error when a core stage (data,
// fine-tuning, unlearning, evaluation) fails.
RunSummary run_pipeline(const RunOptions& options);

// The stage table and the model table as printed at the end of `lethe run`.
std::string format_run_summary(const RunSummary& summary);

// The stages this build can run (a stage missing here is reported unavailable).
std::vector<std::string> available_stages();

}  // namespace lethe::pipeline
