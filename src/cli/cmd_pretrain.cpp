// `lethe pretrain`: a BPE tokenizer and a small Qwen2 model trained from scratch on a corpus (how
// lethe's own base model under models/ is made).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/output_lock.h"
#include "cli/train_cli.h"
#include "train/config_file.h"
#include "train/pretrain.h"

namespace lethe::cli {

void add_pretrain_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "pretrain",
      "train a BPE tokenizer and a small Qwen2 model from scratch (HF model folder out)");
  struct State {
    std::string config_file;
    bool resume = false;
    ConfigOverrides overrides;
  };
  auto state = std::make_shared<State>();
  const nlohmann::json d = train::pretrain_config_to_json(train::PretrainConfig{});
  using K = ConfigOverrides::Kind;
  auto& o = state->overrides;
  cmd->add_option("--config", state->config_file, "YAML config (command-line options override it)")
      ->capture_default_str();
  o.add(*cmd, "--corpus", "corpus", K::string, d["corpus"], "corpus.jsonl (lethe data generate)");
  o.add(*cmd, "--out", "out", K::string, d["out"], "output model folder");
  cmd->add_flag("--resume", state->resume, "continue the run in --out from its latest checkpoint");
  o.add(*cmd, "--vocab-size", "vocab_size", K::integer, d["vocab_size"], "BPE vocabulary size");
  o.add(*cmd, "--hidden-size", "hidden_size", K::integer, d["hidden_size"], "hidden size");
  o.add(*cmd, "--layers", "num_hidden_layers", K::integer, d["num_hidden_layers"],
        "decoder layers");
  o.add(*cmd, "--heads", "num_attention_heads", K::integer, d["num_attention_heads"],
        "attention heads");
  o.add(*cmd, "--kv-heads", "num_key_value_heads", K::integer, d["num_key_value_heads"],
        "key/value heads");
  o.add(*cmd, "--intermediate-size", "intermediate_size", K::integer, d["intermediate_size"],
        "MLP size");
  o.add(*cmd, "--max-length", "max_length", K::integer, d["max_length"], "tokens per example");
  add_loop_options(*cmd, o, d, "training epochs", "examples per micro-batch");
  o.add(*cmd, "--warmup-ratio", "warmup_ratio", K::number, d["warmup_ratio"],
        "warm-up fraction of steps");
  o.add(*cmd, "--weight-decay", "weight_decay", K::number, d["weight_decay"], "AdamW weight decay");
  o.add(*cmd, "--seed", "seed", K::integer, d["seed"], "seed (init, batch order)");
  o.add(*cmd, "--device", "device", K::string, d["device"], "cpu | cuda[:N]");
  o.add(*cmd, "--save-dtype", "save_dtype", K::string, d["save_dtype"],
        "float32 | bfloat16 | float16: dtype of the written model.safetensors (training stays "
        "float32)");
  o.add(*cmd, "--autocast", "autocast", K::string, d["autocast"],
        "none | bfloat16 | float16: mixed-precision forward (weights and AdamW stay float32)");
  o.add(*cmd, "--save-every-steps", "save_every_steps", K::integer, d["save_every_steps"],
        "> 0: resumable checkpoint every N steps");
  cmd->callback([state] {
    apply_global_options();
    nlohmann::json config = state->overrides.resolve(state->config_file);
    train::PretrainConfig resolved;
    train::pretrain_config_from_json(
        config, resolved, state->config_file.empty() ? "pretrain options" : state->config_file);
    const auto lock = lock_output_folder(resolved.out);
    auto result = train::run_pretrain(resolved, state->resume);
    std::printf("pretrain: %lld steps, final loss %.4f, %.0f tokens/s, %.1fs -> %s\n",
                static_cast<long long>(result.steps), result.final_loss, result.tokens_per_second,
                result.seconds, resolved.out.c_str());
  });
}

}  // namespace lethe::cli
