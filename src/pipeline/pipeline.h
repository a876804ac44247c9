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
  std::optional<int64_t> seeds;      // overrides config.seeds (--seeds)
};

// One seed of a multi-seed run (OUT/seed-S/).
struct SeedSummary {
  uint64_t seed = 0;
  std::filesystem::path run_dir;
  std::vector<StageOutcome> stages;
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
  std::vector<SeedSummary> seeds;   // multi-seed runs: each seed's stages (`stages` then holds
                                    // the aggregate's)
  std::filesystem::path aggregate;  // OUT/aggregate.json of a multi-seed run, else empty
  std::string replication;          // the Replication section as text (empty: no results)
};

// Runs (or resumes) the study into options.out. Writes config.yaml (the resolved config) and
// run.json (seed, profile, stage outcomes, versions). With `seeds: N` (or options.seeds) the study
// runs once per seed seed, seed+1, ..., seed+N-1, each a complete resumable run in OUT/seed-S/
// (its config.yaml has that seed and no `seeds` key), then OUT/aggregate.json (report/aggregate.h)
// and OUT/report.html from it. Throws lethe::Error when a core stage (data, fine-tuning,
// unlearning, evaluation) fails.
RunSummary run_pipeline(const RunOptions& options);

// The stage table and the model table as printed at the end of `lethe run`.
std::string format_run_summary(const RunSummary& summary);

// The stages this build can run (a stage missing here is reported unavailable).
std::vector<std::string> available_stages();

}  // namespace lethe::pipeline
