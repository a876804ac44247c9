// `lethe finetune`: LoRA fine-tuning on QA JSONL (the model that later unlearns), or the
// gold-standard retain-only model with --retain-only.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/output_lock.h"
#include "cli/train_cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "train/config_file.h"
#include "train/distributed.h"
#include "train/finetune.h"
#include "train/sisa.h"

namespace lethe::cli {

void add_finetune_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "finetune",
      "LoRA fine-tuning on QA JSONL rendered with the model's chat template (PEFT adapter out)");
  struct State {
    std::string config_file;
    bool resume = false;
    int64_t shards = 0;
    std::string combine = "merge";
    ConfigOverrides overrides;
  };
  auto state = std::make_shared<State>();
  const nlohmann::json d = train::finetune_config_to_json(train::FinetuneConfig{});
  using K = ConfigOverrides::Kind;
  auto& o = state->overrides;
  cmd->add_option("--config", state->config_file, "YAML config (command-line options override it)")
      ->capture_default_str();
  o.add(*cmd, "--model", "model", K::string, d["model"],
        "base model folder or HF id (local cache)");
  o.add(*cmd, "--data", "data", K::string, d["data"],
        "QA JSONL files, comma-separated (sf.jsonl,sr.jsonl)");
  o.add(*cmd, "--out", "out", K::string, d["out"],
        "output folder (PEFT adapter, metrics.jsonl, config.yaml)");
  cmd->add_flag("--resume", state->resume, "continue the run in --out from its latest checkpoint");
  o.add(*cmd, "--retain-only", "retain_only", K::flag, d["retain_only"],
        "drop records with subset \"forget\" (the gold-standard model)");
  auto* shards = cmd->add_option("--shards", state->shards,
                                 "SISA: K adapters on disjoint person-whole shards (OUT/sisa.json, "
                                 "OUT/shards/shard-k/, OUT/merged/; docs/sisa.md)")
                     ->default_str("off");
  cmd->add_option("--combine", state->combine,
                  "SISA model: merge (mean of the shards' LoRA deltas) | ensemble (mean of their "
                  "log-probs)")
      ->capture_default_str();
  o.add(*cmd, "--dtype", "dtype", K::string, d["dtype"],
        "auto | float32 | bfloat16 (auto: bfloat16 on CUDA or an avx512_bf16/amx_bf16 CPU; LoRA "
        "and AdamW stay fp32)");
  o.add(*cmd, "--device", "device", K::string, d["device"], "cpu | cuda[:N]");
  o.add(*cmd, "--max-length", "max_length", K::integer, d["max_length"], "max tokens per example");
  add_loop_options(*cmd, o, d, "training epochs", "examples per micro-batch");
  o.add(*cmd, "--warmup-steps", "warmup_steps", K::integer, d["warmup_steps"],
        "warm-up steps (> 0 wins)");
  o.add(*cmd, "--warmup-ratio", "warmup_ratio", K::number, d["warmup_ratio"],
        "warm-up fraction of steps");
  o.add(*cmd, "--weight-decay", "weight_decay", K::number, d["weight_decay"], "AdamW weight decay");
  o.add(*cmd, "--max-grad-norm", "max_grad_norm", K::number, d["max_grad_norm"],
        "clip (<= 0: off)");
  o.add(*cmd, "--seed", "seed", K::integer, d["seed"], "seed (LoRA init, batch order, dropout)");
  o.add(*cmd, "--objective", "objective", K::string, d["objective"],
        "training objective (registry key)");
  o.add(*cmd, "--lora-r", "lora.r", K::integer, d["lora"]["r"], "LoRA rank");
  o.add(*cmd, "--lora-alpha", "lora.lora_alpha", K::number, d["lora"]["lora_alpha"], "LoRA alpha");
  o.add(*cmd, "--lora-dropout", "lora.lora_dropout", K::number, d["lora"]["lora_dropout"],
        "LoRA dropout");
  o.add(*cmd, "--lora-targets", "lora.target_modules", K::string_list, d["lora"]["target_modules"],
        "projections to adapt, comma-separated");
  o.add(*cmd, "--use-rslora", "lora.use_rslora", K::flag, d["lora"]["use_rslora"],
        "scaling alpha/sqrt(r)");
  o.add(*cmd, "--save-every-steps", "save_every_steps", K::integer, d["save_every_steps"],
        "> 0: resumable checkpoint every N steps");
  o.add(*cmd, "--save-epochs", "save_epochs", K::int_list, d["save_epochs"],
        "export the adapter after these epochs (out/epoch-N), e.g. 5,10,20");
  cmd->callback([state, shards] {
    apply_global_options();
    nlohmann::json config = state->overrides.resolve(state->config_file);
    train::FinetuneConfig resolved;
    train::finetune_config_from_json(
        config, resolved, state->config_file.empty() ? "finetune options" : state->config_file);
    if (shards->count() > 0) {
      const train::SisaOptions sisa{state->shards, state->combine};
      train::check_sisa_options(sisa);
      if (state->resume) throw UsageError("--shards: --resume is not supported for SISA");
      if (train::detect_dist_env().world_size > 1)
        throw UsageError("--shards: not supported in data-parallel runs; run it in one process");
      const auto lock = lock_output_folder(resolved.out);
      const auto manifest = train::run_sisa_finetune(resolved, sisa);
      std::printf("finetune: %lld shards (%s), %zu records, %.1fs -> %s\n",
                  static_cast<long long>(sisa.shards), sisa.combine.c_str(),
                  manifest["records"].get<size_t>(), manifest["seconds"].get<double>(),
                  resolved.out.c_str());
      return;
    }
    // Only rank 0 of a data-parallel launch writes --out, so it alone locks it.
    const auto lock =
        train::detect_dist_env().rank == 0 ? lock_output_folder(resolved.out) : std::nullopt;
    // Several processes with RANK/WORLD_SIZE (or SLURM_PROCID/SLURM_NTASKS): data-parallel, over
    // NCCL on a CUDA device and Gloo on the CPU.
    const auto group = train::join_process_group_from_env(core::parse_device(resolved.device));
    if (group && group->rank() > 0) core::Progress::set_quiet(true);
    auto result = train::run_finetune(resolved, state->resume, group.get());
    if (group && group->rank() > 0) return;
    std::printf("finetune: %lld steps, final loss %.4f, %.0f tokens/s, %.1fs%s -> %s\n",
                static_cast<long long>(result.steps), result.final_loss, result.tokens_per_second,
                result.seconds,
                group ? (", " + std::to_string(group->world_size()) + " processes").c_str() : "",
                resolved.out.c_str());
  });
}

}  // namespace lethe::cli
