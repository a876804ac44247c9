// `lethe unlearn`: update a fine-tuned LoRA adapter with one unlearning method (PEFT adapters out),
// or with --parameters full every weight of the merged model (HF model folders out).
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/commands.h"
#include "cli/output_lock.h"
#include "cli/train_cli.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "io/model_path.h"
#include "objectives/objective.h"
#include "report/audit.h"
#include "train/config_file.h"
#include "train/distributed.h"
#include "train/sisa.h"
#include "train/unlearn.h"

namespace lethe::cli {

namespace {

// "beta=0.1" -> ("beta", 0.1); throws lethe::UsageError.
std::pair<std::string, double> parse_param(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw UsageError("--param '" + text + "' must be NAME=VALUE (e.g. beta=0.1)");
  const std::string value = text.substr(eq + 1);
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (*end != '\0') throw UsageError("--param '" + text + "': '" + value + "' is not a number");
  return {text.substr(0, eq), v};
}

std::string method_list() {
  std::string out;
  for (const auto& name : objectives::objective_names()) out += (out.empty() ? "" : ", ") + name;
  return out +
         ", sisa (exact: retrain the shards of a finetune --shards K that held forget records)";
}

// --method sisa: retrains the affected shards of the sharded fine-tune in --adapter and writes
// OUT/audit.jsonl (per shard the sha256 of its records; lethe audit OUT/audit.jsonl --verify).
void run_sisa_command(const train::UnlearnConfig& c) {
  if (c.adapter.empty())
    throw UsageError("unlearn --method sisa: give the sharded fine-tune as --adapter DIR");
  if (c.forget.empty()) throw UsageError("unlearn --method sisa: give --forget sf.jsonl");
  if (c.out.empty()) throw UsageError("unlearn --method sisa: give --out DIR");
  const auto manifest = train::read_sisa_manifest(c.adapter);  // names the folder when absent
  const auto lock = lock_output_folder(c.out);
  const auto result = train::run_sisa_unlearn(c.adapter, c.forget, c.out, c.model);
  const std::string model = c.model.empty() ? manifest.value("base_model", std::string()) : c.model;
  const auto request =
      report::sisa_audit_request(c.out, c.forget, io::resolve_model_path(model), manifest);
  const auto ledger = std::filesystem::path(c.out) / "audit.jsonl";
  report::write_audit_ledger(ledger, {request}, report::AuditThresholds{});
  std::string shards;
  for (auto k : result.retrained) shards += (shards.empty() ? "" : ",") + std::to_string(k);
  std::printf(
      "unlearn sisa: retrained shard(s) %s of %zu (%zu forget records removed), %.1fs -> "
      "%s (audit: %s)\n",
      shards.empty() ? "none" : shards.c_str(), manifest["shard_list"].size(),
      result.manifest["unlearn"]["forget_records_removed"].get<size_t>(), result.seconds,
      c.out.c_str(), ledger.c_str());
}

}  // namespace

void add_unlearn_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "unlearn",
      "update a fine-tuned LoRA adapter with an unlearning method (PEFT adapters out; "
      "--parameters full: every weight, HF model folders out)");
  struct State {
    std::string config_file;
    bool resume = false;
    std::vector<std::string> params;
    ConfigOverrides overrides;
  };
  auto state = std::make_shared<State>();
  const nlohmann::json d = train::unlearn_config_to_json(train::default_unlearn_config());
  using K = ConfigOverrides::Kind;
  auto& o = state->overrides;
  cmd->add_option("--config", state->config_file, "YAML config (command-line options override it)")
      ->capture_default_str();
  o.add(*cmd, "--model", "model", K::string, d["model"],
        "base model folder or HF id (local cache)");
  o.add(*cmd, "--adapter", "adapter", K::string, d["adapter"],
        "the fine-tuned PEFT adapter folder");
  o.add(*cmd, "--method", "method", K::string, d["method"], "unlearning method: " + method_list());
  cmd->add_option(
         "--param", state->params,
         "method parameter NAME=VALUE, repeatable (beta=0.1, retain_weight=1, alpha=1, ...)")
      ->capture_default_str();
  o.add(*cmd, "--forget", "forget", K::string, d["forget"], "forget set QA JSONL (sf.jsonl)");
  o.add(*cmd, "--retain", "retain", K::string, d["retain"], "retain set QA JSONL (sr.jsonl)");
  o.add(*cmd, "--out", "out", K::string, d["out"],
        "output folder (PEFT adapter or, with --parameters full, HF model; metrics.jsonl, "
        "config.yaml)");
  o.add(*cmd, "--parameters", "parameters", K::string, d["parameters"],
        "what trains: lora (the adapter) | full (the adapter merged into the base, every weight "
        "in float32; needs ~4x the fp32 weights in memory)");
  cmd->add_flag("--resume", state->resume, "continue the run in --out from its latest checkpoint")
      ->capture_default_str();
  o.add(*cmd, "--dtype", "dtype", K::string, d["dtype"],
        "auto | float32 | bfloat16 (auto: bfloat16 on CUDA or an avx512_bf16/amx_bf16 CPU; LoRA "
        "and AdamW stay fp32; --parameters full: float32 only)");
  o.add(*cmd, "--device", "device", K::string, d["device"], "cpu | cuda[:N]");
  o.add(*cmd, "--max-length", "max_length", K::integer, d["max_length"], "max tokens per example");
  add_loop_options(*cmd, o, d, "unlearning epochs (over the forget set)",
                   "examples per micro-batch (per side)");
  o.add(*cmd, "--warmup-steps", "warmup_steps", K::integer, d["warmup_steps"], "warm-up steps");
  o.add(*cmd, "--weight-decay", "weight_decay", K::number, d["weight_decay"], "AdamW weight decay");
  o.add(*cmd, "--max-grad-norm", "max_grad_norm", K::number, d["max_grad_norm"],
        "clip (<= 0: off)");
  o.add(*cmd, "--seed", "seed", K::integer, d["seed"], "seed (batch order, task_vector LoRA init)");
  o.add(*cmd, "--reference", "reference", K::string, d["reference"],
        "reference model of npo/dpo/kl terms: initial (the fine-tuned model) | adapter_disabled "
        "(lora only)");
  o.add(*cmd, "--trainable-layers", "trainable_layers", K::int_list, d["trainable_layers"],
        "decoder layers that train (empty: all; rmu: its layers)");
  o.add(*cmd, "--save-epochs", "save_epochs", K::int_list, d["save_epochs"],
        "also export the adapter (full: the model) after these epochs (out/epoch-N), e.g. 5,10,20");
  o.add(*cmd, "--save-every-steps", "save_every_steps", K::integer, d["save_every_steps"],
        "> 0: resumable checkpoint every N steps");
  // Written into the config only when set (train_options_to_json), so the defaults are spelled
  // here from TrainOptions.
  const train::TrainOptions t;
  o.add(*cmd, "--eval-every", "eval_every", K::integer, t.eval_every,
        "> 0: evaluate forget/retain (ROUGE-L, answer prob) every N steps into metrics.jsonl "
        "(one process only)");
  o.add(*cmd, "--eval-limit", "eval_limit", K::integer, t.eval_limit,
        "questions per set each evaluation reads (0: all)");
  o.add(*cmd, "--eval-max-new-tokens", "eval_max_new_tokens", K::integer, t.eval_max_new_tokens,
        "greedy answer tokens per question (ROUGE-L)");
  o.add(*cmd, "--stop-when", "stop_when", K::string, t.stop_when,
        "stop at the first evaluation where this holds and export that model, e.g. "
        "\"forget_rouge_l<=0.2 and retain_rouge_l>=0.9\" (needs --eval-every; docs/unlearning.md)");
  cmd->callback([state] {
    apply_global_options();
    nlohmann::json config = state->overrides.resolve(state->config_file);
    for (const auto& text : state->params) {
      const auto [name, value] = parse_param(text);
      config["params"][name] = value;
    }
    train::UnlearnConfig resolved = train::default_unlearn_config();
    train::unlearn_config_from_json(
        config, resolved, state->config_file.empty() ? "unlearn options" : state->config_file);
    if (resolved.train.objective == "sisa") {
      if (state->resume) throw UsageError("unlearn --method sisa: --resume is not supported");
      run_sisa_command(resolved);
      return;
    }
    // Bad input fails before waiting for the other processes.
    train::check_unlearn_config(resolved);
    // Only rank 0 of a data-parallel launch writes --out, so it alone locks it.
    const auto lock =
        train::detect_dist_env().rank == 0 ? lock_output_folder(resolved.out) : std::nullopt;
    // Several processes with RANK/WORLD_SIZE (or SLURM_PROCID/SLURM_NTASKS): data-parallel, over
    // NCCL on a CUDA device and Gloo on the CPU.
    const auto group = train::join_process_group_from_env(core::parse_device(resolved.device));
    if (group && group->rank() > 0) core::Progress::set_quiet(true);
    auto result = train::run_unlearn(resolved, state->resume, group.get());
    if (group && group->rank() > 0) return;
    const std::string stop =
        result.stop_step
            ? ", stopped at step " + std::to_string(*result.stop_step) + " (--stop-when met)"
            : "";
    std::printf("unlearn %s: %lld steps, final loss %.4f, %.0f tokens/s, %.1fs%s%s -> %s\n",
                resolved.train.objective.c_str(), static_cast<long long>(result.steps),
                result.final_loss, result.tokens_per_second, result.seconds, stop.c_str(),
                group ? (", " + std::to_string(group->world_size()) + " processes").c_str() : "",
                resolved.out.c_str());
  });
}

}  // namespace lethe::cli
