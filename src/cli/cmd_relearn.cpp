// `lethe relearn`: the relearning attack on an unlearned adapter (relearn_results.json out).
#include <cstdio>
#include <memory>

#include "cli/cmd_model_common.h"
#include "cli/commands.h"
#include "cli/output_lock.h"
#include "core/error.h"
#include "train/relearn.h"

namespace lethe::cli {

void add_relearn_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "relearn",
      "relearning attack: fine-tune an unlearned adapter a few steps, track forget recovery");
  auto c = std::make_shared<train::RelearnConfig>();
  cmd->add_option("--model", c->model, "base model folder or HF id (local cache)")->required();
  cmd->add_option("--adapter", c->adapter, "the unlearned PEFT adapter folder")->required();
  cmd->add_option("--finetuned", c->finetuned,
                  "the fine-tuned adapter (its forget metrics give the recovery fraction)")
      ->capture_default_str();
  cmd->add_option("--data", c->data, "dataset folder (sf.jsonl, sr.jsonl, world.jsonl)")
      ->required();
  cmd->add_option("--set", c->set, "relearning data: forget | correlated | unrelated")
      ->capture_default_str();
  cmd->add_option("--examples", c->examples, "relearning examples drawn from the set")
      ->capture_default_str();
  cmd->add_option("--steps", c->options.steps, "report after these steps, e.g. 10,25,50")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--lr", c->options.learning_rate, "learning rate (AdamW, constant)")
      ->capture_default_str();
  cmd->add_option("--batch-size", c->options.batch_size, "examples per step")
      ->capture_default_str();
  cmd->add_option("--max-new-tokens", c->options.max_new_tokens, "greedy tokens for ROUGE-L")
      ->capture_default_str();
  cmd->add_option("--eval-limit", c->eval_limit, "> 0: score only the first N forget questions")
      ->capture_default_str();
  cmd->add_option("--seed", c->options.seed, "seed (example choice, batch order)")
      ->capture_default_str();
  add_dtype_device_options(cmd, c->dtype, c->device);
  cmd->add_option("--out", c->out, "output folder (relearn_results.json)")->required();
  cmd->callback([c] {
    apply_global_options();
    const auto lock = lock_output_folder(c->out);
    const auto results = train::run_relearn(*c);
    for (const auto& p : results["steps"])
      std::printf("step %3lld  forget prob %.4f  forget ROUGE-L %.4f\n",
                  static_cast<long long>(p["step"].get<int64_t>()), p["forget_prob"].get<double>(),
                  p["forget_rouge_l"].get<double>());
    std::printf("relearn (%s): -> %s/relearn_results.json\n", c->set.c_str(), c->out.c_str());
  });
}

}  // namespace lethe::cli
