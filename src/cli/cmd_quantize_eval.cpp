// `lethe quantize-eval --model M --adapter A ... --data DIR --schemes int8,nf4 --out FILE`: merge
// each adapter, fake-quantize, re-evaluate, report recovery of forgotten knowledge
// (docs/robustness.md).
#include <iostream>
#include <memory>

#include "cli/cmd_model_common.h"
#include "cli/commands.h"
#include "cli/output_lock.h"
#include "quant/quantize_eval.h"
#include "quant/scheme.h"

namespace lethe::cli {

void add_quantize_eval_command(CLI::App& app) {
  auto o = std::make_shared<quant::QuantizeEvalConfig>();
  std::string valid;
  for (const auto& s : quant::schemes()) valid += (valid.empty() ? "" : ", ") + s.name;
  CLI::App* cmd = app.add_subcommand(
      "quantize-eval",
      "merge + fake-quantize each adapter and re-evaluate: does forgotten knowledge come back?");
  cmd->add_option("--model", o->model, "base model folder (with tokenizer)")->required();
  cmd->add_option("--adapter", o->adapters, "unlearned PEFT adapter folder (repeatable)");
  cmd->add_option("--name", o->names, "name of each adapter in the results (repeatable)");
  cmd->add_option("--reference-adapter", o->reference_adapter,
                  "the fine-tuned model's adapter: gives recovered_fraction")
      ->capture_default_str();
  cmd->add_flag("--include-base", o->include_base, "also quantize the base model alone");
  cmd->add_option("--data", o->data, "dataset folder")->required();
  cmd->add_option("--schemes", o->schemes, "comma-separated schemes: " + valid)
      ->delimiter(',')
      ->capture_default_str();
  o->out = "quantize_results.json";
  cmd->add_option("--out", o->out, "results JSON")->capture_default_str();
  cmd->add_option("--calibration-questions", o->calibration_questions,
                  "questions whose activations find int8_outlier's outlier columns")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-new-tokens", o->options.max_new_tokens, "greedy generation length")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--batch-size", o->options.batch_size, "sequences per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--limit", o->options.limit, "first N questions of each set (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--metrics", o->options.metrics,
                  "metric names (default: rouge_l,answer_prob,truth_ratio,model_utility)")
      ->delimiter(',');
  add_dtype_device_options(cmd, o->dtype, o->device);
  cmd->callback([o]() {
    apply_global_options();
    const auto lock = lock_output_file(o->out);
    const auto r = quant::run_quantize_eval(*o);
    std::cout << "wrote " << o->out << " (" << r["models"].size() << " models x "
              << o->schemes.size() << " schemes)\n";
    for (const auto& [name, m] : r["models"].items())
      for (const auto& [scheme, s] : m["schemes"].items()) {
        const auto& rec = s["recovery"];
        if (!rec.contains("forget_rouge_l_recall")) continue;
        std::cout << "  " << name << " @ " << scheme << ": forget ROUGE-L "
                  << rec["forget_rouge_l_recall"]["before"].get<double>() << " -> "
                  << rec["forget_rouge_l_recall"]["after"].get<double>();
        if (rec.contains("forget_truth_ratio"))
          std::cout << ", truth ratio " << rec["forget_truth_ratio"]["before"].get<double>()
                    << " -> " << rec["forget_truth_ratio"]["after"].get<double>();
        std::cout << "\n";
      }
  });
}

}  // namespace lethe::cli
