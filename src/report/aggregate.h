// The aggregate of a study run over several seeds (RUN/aggregate.json): every headline metric of
// the summary table per model as a mean with a two-level bootstrap interval (questions within a
// seed, then seeds; eval/bootstrap.h), the correlated-vs-other drop gap pooled per intensity with
// sign-flip p-values (eval/sign_flip_test.h), and the seed-level numbers of the replication claims
// (middle-layer drift, quantization recovery). The procedure is documented in docs/report.md.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/bootstrap.h"

namespace lethe::report {

// One seed's finished run folder.
struct SeedRun {
  uint64_t seed = 0;
  std::filesystem::path dir;
};

// The bootstrap of `lethe run`: 2000 replicates, 95%, a fixed RNG seed (so aggregate.json is a
// function of the seeds' results alone).
eval::BootstrapOptions default_aggregate_bootstrap();

// Per-model metric keys of aggregate.json (models.NAME.metrics.KEY): the summary table's columns
// (SummaryColumn::key), then the drops from the fine-tuned model of the same seed (ROUGE-L
// recall): drop_correlated, drop_other and drop_gap = drop_correlated - drop_other (> 0: the
// correlated retain facts lost more), then middle_layer_drift (seed level).
inline constexpr const char* kDropCorrelated = "drop_correlated_rouge_l";
inline constexpr const char* kDropOther = "drop_other_rouge_l";
inline constexpr const char* kDropGap = "drop_gap_rouge_l";
inline constexpr const char* kMiddleLayerDrift = "middle_layer_drift";

// Reads each seed's results (results/eval_results.json per question, repr_results.json,
// quantize_results.json) and returns the aggregate document with its `replication` claims
// (report/replication.h). A seed without eval_results.json is an error naming its folder.
nlohmann::json build_aggregate(const std::vector<SeedRun>& seeds,
                               const eval::BootstrapOptions& bootstrap);

// An interval as JSON {mean, lo, hi} (null for NaN) and back.
nlohmann::json interval_json(const eval::Interval& interval);
eval::Interval interval_from_json(const nlohmann::json& j);

// RUN/aggregate.json when the run has one (a multi-seed run), else null.
nlohmann::json read_aggregate(const std::filesystem::path& run_dir);

}  // namespace lethe::report
