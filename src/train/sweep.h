// `lethe sweep`: a grid over method x learning rate x epochs x method parameters, each
// configuration saved as a PEFT adapter in OUT/unlearn_{method}_{config}/, one atomic index of all
// configurations, resumable, shardable across processes (--shard i/n, or RANK/WORLD_SIZE). Not
// here: the training itself (train/unlearn.h) and the process-group runtime (train/distributed.h).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/trainer.h"
#include "train/unlearn.h"

namespace lethe::train {

// One point of the grid.
struct SweepConfig {
  std::string name;   // "unlearn_npo_lr1e-4_beta0.1_ep10"
  std::string group;  // configs sharing one training run ("unlearn_npo_lr1e-4_beta0.1")
  std::string method;
  double learning_rate = 0.0;
  std::map<std::string, double> params;  // method parameters of this point (sorted by name)
  int64_t epochs = 0;
};

// One training run: the configs it produces (one per requested epoch when the schedule allows).
struct SweepGroup {
  std::string name;
  UnlearnConfig config;  // epochs = the largest, save_epochs = every epoch of `configs`
  std::vector<SweepConfig> configs;
};

struct SweepSpec {
  std::filesystem::path out;       // where the unlearn_* folders and sweep_index.json go
  std::vector<SweepGroup> groups;  // in grid order
  std::vector<SweepConfig> configs() const;
};

// Parses a sweep YAML (docs/unlearning.md): common unlearn keys at the top level (model, adapter,
// forget, retain, batch_size, ...), `out`, and `methods: {NAME: {learning_rate: [..], epochs: [..],
// params: {beta: [..]}}}`; a scalar counts as a one-element list. Unknown methods, parameters and
// keys are errors naming `where` (and listing the valid ones); so are empty lists and duplicates.
SweepSpec parse_sweep(const nlohmann::json& json, const std::string& where);
SweepSpec read_sweep_file(const std::filesystem::path& path);

// "1e-4", "0.1", "2", "2.5e-5": the shortest %g form without exponent padding.
std::string format_sweep_number(double value);

// Shard i of n (0-based): the groups with index % n == i (configs sharing a run stay together).
struct Shard {
  int64_t index = 0;
  int64_t count = 1;
};
// "i/n" with 0 <= i < n; throws lethe::UsageError otherwise.
Shard parse_shard(const std::string& text);
bool in_shard(size_t group_index, const Shard& shard);

// Trains one group into run_dir (resume: continue its checkpoint). The default runs run_unlearn.
using SweepRunner = std::function<TrainResult(const UnlearnConfig& config,
                                              const std::filesystem::path& run_dir, bool resume)>;
TrainResult default_sweep_runner(const UnlearnConfig& config, const std::filesystem::path& run_dir,
                                 bool resume);

struct SweepSummary {
  int64_t done = 0;     // trained by this invocation
  int64_t skipped = 0;  // already done
  int64_t failed = 0;
  int64_t other_shards = 0;  // configurations left to other shards
};

// Status of one configuration as its folders say: "done" (OUT/NAME/sweep_status.json says done),
// "failed" (says failed), "running" (the group's run folder is marked running), else "pending".
std::string sweep_config_status(const SweepSpec& spec, const SweepConfig& config);

// Rebuilds OUT/sweep_index.json (atomically) from the configurations' folders.
nlohmann::json write_sweep_index(const SweepSpec& spec);

// Runs this shard's groups that are not done: a group whose run folder holds a resumable checkpoint
// continues it, one with partial files only starts over. A failing group marks its configs failed
// and the sweep goes on. Run folders: OUT/.sweep_runs/GROUP/.
SweepSummary run_sweep(const SweepSpec& spec, const Shard& shard, const SweepRunner& runner);

}  // namespace lethe::train
