// `lethe eval --model M [--adapter A ...] --data DIR --out results.json`: TOFU-style evaluation of
// a base model and PEFT adapters sharing its weights (src/eval/evaluator_run.h,
// docs/evaluation.md).
#include <iostream>
#include <memory>

#include "cli/cmd_model_common.h"
#include "cli/commands.h"
#include "cli/output_lock.h"
#include "core/error.h"
#include "eval/evaluator_run.h"

namespace lethe::cli {

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<eval::EvalRunConfig>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "forget / retain / world metrics, forget quality, MIA, probes, ICU (results JSON)");
  cmd->add_option("--model", o->model, "model folder (with tokenizer) or Hugging Face model id")
      ->required();
  cmd->add_option("--adapter", o->adapters, "PEFT LoRA adapter folder (repeatable)");
  cmd->add_option("--name", o->names, "name of each adapter in the results (repeatable)");
  cmd->add_option("--retain-model", o->retain_model,
                  "adapter of the retain-only model: the reference of forget quality and PrivLeak")
      ->capture_default_str();
  cmd->add_flag("--icu", o->icu, "also evaluate in-context unlearning (base + system prompt)");
  cmd->add_option("--icu-prompt", o->options.icu_system_prompt,
                  "ICU system prompt (empty: lethe's default naming the forget targets)")
      ->capture_default_str();
  cmd->add_flag("--skip-base", o->skip_base, "do not evaluate the base model itself");
  cmd->add_option("--data", o->data, "dataset folder (lethe data generate)")->required();
  cmd->add_option("--out", o->out, "results JSON (written atomically when complete)")->required();
  cmd->add_option("--max-new-tokens", o->options.max_new_tokens, "greedy generation length")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--batch-size", o->options.batch_size, "sequences per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--min-k", o->options.min_k, "Min-K% / Min-K%++ fraction")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--limit", o->options.limit,
                  "evaluate the first N questions of each set (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--metrics", o->options.metrics,
                  "registry metric names (see `lethe metrics list`) and/or 'probes'; default: all available")
      ->delimiter(',');
  add_dtype_device_options(cmd, o->dtype, o->device);
  cmd->callback([o]() {
    apply_global_options();
    const auto lock = lock_output_file(o->out);
    const auto results = eval::run_evaluation(*o);
    std::cout << "wrote " << o->out << " (" << results["models"].size() << " models, "
              << results["timing"]["wall_seconds"].get<double>() << " s)\n";
  });
}

}  // namespace lethe::cli
