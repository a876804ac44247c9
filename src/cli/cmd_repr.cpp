// `lethe repr --model M --reference-adapter FT --adapter A ... --data DIR`: per-layer drift, logit
// lens and linear probe of unlearned models against the fine-tuned one (docs/robustness.md).
#include <iostream>
#include <memory>

#include "analysis/repr_run.h"
#include "cli/cmd_model_common.h"
#include "cli/commands.h"
#include "cli/output_lock.h"

namespace lethe::cli {

void add_repr_command(CLI::App& app) {
  auto o = std::make_shared<analysis::ReprConfig>();
  CLI::App* cmd = app.add_subcommand(
      "repr",
      "per-layer hidden-state drift, logit lens and incident-type probe vs the fine-tuned model");
  cmd->add_option("--model", o->model, "base model folder (with tokenizer)")->required();
  cmd->add_option("--reference-adapter", o->reference_adapter,
                  "the fine-tuned model's PEFT adapter")
      ->required();
  cmd->add_option("--adapter", o->adapters, "unlearned PEFT adapter folder (repeatable)")
      ->required();
  cmd->add_option("--name", o->names, "name of each adapter in the results (repeatable)");
  cmd->add_option("--data", o->data, "dataset folder")->required();
  cmd->add_option("--out", o->out, "results JSON (all layers); per-layer files beside it")
      ->capture_default_str();
  cmd->add_option(
         "--layers", o->layers,
         "per-layer result files: last, middle, all, or hidden-state indices (0 = embeddings)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "sequences per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "first N forget and N retain questions (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--probe-l2", o->probe.l2, "L2 penalty of the logistic-regression probe")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--probe-iters", o->probe.max_iter, "L-BFGS iterations of the probe")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--neurons,!--no-neurons", o->neurons,
                "per MLP layer: the neurons whose activation changed most on forget questions, "
                "the share of the change in the top 1%, the overlap on correlated retain questions")
      ->capture_default_str();
  add_dtype_device_options(cmd, o->dtype, o->device);
  cmd->callback([o]() {
    apply_global_options();
    const auto lock = lock_output_file(o->out);
    const auto r = analysis::run_repr(*o);
    std::cout << "wrote " << o->out << " (" << r["models"].size() << " models, "
              << r["num_layers"].get<int64_t>() << " layers)\n";
    const int64_t L = r["num_layers"].get<int64_t>();
    for (const auto& [name, m] : r["models"].items()) {
      const auto& f = m["forget"];
      if (!f.contains("drift") || f["drift"].empty()) continue;
      std::cout << "  " << name << ": last-layer forget drift " << f["drift"][L].get<double>()
                << ", cosine " << f["cosine"][L].get<double>();
      if (f.contains("probe_accuracy") && !f["probe_accuracy"].empty())
        std::cout << ", probe accuracy " << f["probe_accuracy"][L].get<double>();
      if (m.contains("neurons") && m["neurons"]["forget"].contains("share_top1pct"))
        std::cout << ", last-layer share of the neuron change in the top 1% "
                  << m["neurons"]["forget"]["share_top1pct"].back().get<double>();
      std::cout << "\n";
    }
  });
}

}  // namespace lethe::cli
