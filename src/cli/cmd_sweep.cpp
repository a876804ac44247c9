// `lethe sweep CONFIG.yaml [--shard i/n]`: train a grid of unlearning configurations, resumably.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/output_lock.h"
#include "core/error.h"
#include "train/distributed.h"
#include "train/sweep.h"

namespace lethe::cli {

void add_sweep_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "sweep",
      "train a grid of unlearning configs (method x lr x epochs x params) as PEFT adapters");
  struct State {
    std::string config;
    std::string shard;
    bool list = false;
  };
  auto state = std::make_shared<State>();
  cmd->add_option("config", state->config, "sweep YAML (see configs/ and docs/unlearning.md)")
      ->required();
  cmd->add_option("--shard", state->shard,
                  "i/n: run only shard i of n (job arrays); default: RANK/WORLD_SIZE or "
                  "SLURM_PROCID/SLURM_NTASKS when set, else 0/1")
      ->capture_default_str();
  cmd->add_flag("--list", state->list, "print the configurations and their status, train nothing")
      ->capture_default_str();
  cmd->callback([state] {
    apply_global_options();
    const auto spec = train::read_sweep_file(state->config);
    if (state->list) {
      const auto index = train::write_sweep_index(spec);
      for (const auto& c : index["configs"])
        std::printf("%-8s %s\n", c["status"].get<std::string>().c_str(),
                    c["name"].get<std::string>().c_str());
      return;
    }
    train::Shard shard;
    if (!state->shard.empty()) {
      shard = train::parse_shard(state->shard);
    } else {
      const auto env = train::detect_dist_env();
      shard = {env.rank, env.world_size};
    }
    // The shards of one sweep share its folder (each trains its own groups); one shard runs once.
    const std::string out = spec.out.string();
    const std::string shard_name =
        std::to_string(shard.index) + "-of-" + std::to_string(shard.count);
    const auto lock = lock_output_folder(
        out, shard.count > 1 ? core::LockMode::shared : core::LockMode::exclusive);
    const auto shard_lock =
        shard.count > 1
            ? std::optional<core::DirLock>(std::in_place, spec.out, core::LockMode::exclusive,
                                           ".lethe.shard-" + shard_name + ".lock",
                                           out + " (sweep shard " + std::to_string(shard.index) +
                                               "/" + std::to_string(shard.count) + ")")
            : std::nullopt;
    const auto summary = train::run_sweep(spec, shard, train::default_sweep_runner);
    std::printf(
        "sweep shard %lld/%lld: %lld trained, %lld already done, %lld failed, %lld left to "
        "other shards -> %s\n",
        static_cast<long long>(shard.index), static_cast<long long>(shard.count),
        static_cast<long long>(summary.done), static_cast<long long>(summary.skipped),
        static_cast<long long>(summary.failed), static_cast<long long>(summary.other_shards),
        (spec.out / "sweep_index.json").string().c_str());
    LETHE_CHECK(summary.failed == 0, "sweep: ", summary.failed,
                " configuration(s) failed; see the errors in ",
                (spec.out / "sweep_index.json").string(), " (rerun to retry them)");
  });
}

}  // namespace lethe::cli
