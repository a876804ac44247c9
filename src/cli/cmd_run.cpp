// `lethe run`: the whole study (data -> fine-tune -> unlearn -> evaluate -> robustness -> plots) in
// one resumable command; prints the stage table, the per-model summary and the report path.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/output_lock.h"
#include "core/error.h"
#include "pipeline/pipeline.h"

namespace lethe::cli {

void add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "run", "run the whole unlearning study on the shipped base model (resumable; docs/run.md)");
  struct State {
    std::string config_file;
    std::string out = "runs/default";
    std::string model;
    bool quick = false;
    int64_t seeds = 0;
  };
  auto state = std::make_shared<State>();
  cmd->add_option("--config", state->config_file,
                  "YAML merged over the profile (configs/default.yaml lists every key)")
      ->capture_default_str();
  cmd->add_option("--out", state->out, "run folder (re-running the same command resumes it)")
      ->capture_default_str();
  cmd->add_option("--model", state->model,
                  "base model folder or HF id (overrides the config's model; default "
                  "models/lethe-base)")
      ->capture_default_str();
  cmd->add_option("--seeds", state->seeds,
                  "run the study for N seeds (seed, seed+1, ...) in OUT/seed-S/ and aggregate them "
                  "into OUT/aggregate.json (0: the config's `seeds`, else one run in OUT)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--quick", state->quick, "the quick profile (smaller data and sweep, <= 2 min)")
      ->capture_default_str();
  cmd->callback([state] {
    apply_global_options();
    pipeline::RunOptions options;
    if (!state->config_file.empty()) options.config_file = state->config_file;
    options.out = state->out;
    options.quick = state->quick;
    if (!state->model.empty()) options.model = state->model;
    if (state->seeds > 0) options.seeds = state->seeds;
    const auto lock = lock_output_folder(state->out);
    const auto summary = pipeline::run_pipeline(options);
    std::fputs(pipeline::format_run_summary(summary).c_str(), stdout);
    std::fflush(stdout);
    LETHE_CHECK(summary.failed == 0, summary.failed, " stage(s) failed (see ",
                (summary.run_dir / "run.json").string(), ")");
  });
}

}  // namespace lethe::cli
