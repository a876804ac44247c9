// The training options of train::train (train/trainer.h) and their JSON form, which is the YAML
// config's (train/config_file.h); the reference model choice. Not here: what the options do.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "objectives/objective.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"

namespace lethe::train {

// Which model supplies logp_ref / logp_ref_token / hidden_ref.
enum class ReferenceModel {
  initial,          // the model as it is before the first update (for unlearning from a fine-tuned
                    // adapter: the fine-tuned model); equals `adapter_disabled` for a fresh LoRA
  adapter_disabled  // the base model under the LoRA switch
};
std::string reference_model_name(ReferenceModel reference);
ReferenceModel parse_reference_model(const std::string& name);  // throws lethe::UsageError

struct TrainOptions {
  std::string objective = "sft";                 // registry key
  objectives::ObjectiveParams objective_params;  // overrides of the objective's defaults
  ReferenceModel reference = ReferenceModel::initial;

  LrScheduleOptions schedule;  // lr, kind, warm-up
  AdamWOptions adamw;
  int64_t epochs = 1;
  int64_t max_steps = 0;   // > 0: stop after this many optimizer steps (the schedule spans them)
  int64_t batch_size = 8;  // examples per micro-batch (per side)
  int64_t grad_accum = 1;  // micro-batches per optimizer step
  double max_grad_norm = 1.0;   // <= 0: no clipping
  bool group_by_length = true;  // see data::BatchPlanOptions
  uint64_t seed = 42;           // batch order, LoRA dropout
  // Mixed precision for the forward pass: "none", "bfloat16" or "float16" (torch.autocast; the
  // trainable parameters and AdamW state stay float32). Worth it for full-parameter pretraining.
  std::string autocast = "none";
  // Decoder layers whose parameters train (empty: the objective's spec.trained_layers, else all
  // trainable parameters).
  std::vector<int64_t> trainable_layers;

  int64_t save_every_steps = 0;      // > 0: a resumable checkpoint every N optimizer steps
  std::vector<int64_t> save_epochs;  // after these epochs (1-based): a model export in out/epoch-N
  int64_t keep_checkpoints = 1;      // step checkpoints kept (older ones are deleted)
  int64_t log_every = 1;             // metrics.jsonl line every N optimizer steps
  std::string label = "train";       // progress-bar label

  // Evaluation during training (train/training_eval.h): > 0: TrainTarget::evaluate runs before the
  // first step, every N optimizer steps and after the last, one "kind": "eval" metrics.jsonl row
  // each. Refused in data-parallel runs.
  int64_t eval_every = 0;
  int64_t eval_limit = 20;           // questions per set (forget, retain) an evaluation reads
  int64_t eval_max_new_tokens = 48;  // greedy answer tokens (ROUGE-L)
  // Stops the run at the first evaluation (after a step) where this holds and exports that model
  // (train/stop_criterion.h: "forget_rouge_l<=0.2 and retain_rouge_l>=0.9"); needs eval_every.
  std::string stop_when;

  // Simulates a crash after this many optimizer steps of this invocation (tests of --resume).
  int64_t stop_after_steps = 0;
};

// The options as a JSON object (the keys of the YAML config) and back; from_json rejects unknown
// keys and bad values naming `where`. Keys: objective, objective_params, reference, learning_rate,
// lr_scheduler, warmup_steps, warmup_ratio, min_lr_ratio, weight_decay, adam_beta1, adam_beta2,
// adam_epsilon, epochs, max_steps, batch_size, grad_accum, max_grad_norm, group_by_length, seed,
// autocast, trainable_layers, save_every_steps, save_epochs, keep_checkpoints, log_every, and
// (written only when eval_every > 0 or stop_when is set, so other runs' configs and fingerprints
// are unchanged) eval_every, eval_limit, eval_max_new_tokens, stop_when.
nlohmann::json train_options_to_json(const TrainOptions& options);
// Applies the keys present in `json` on top of `options`.
void train_options_from_json(const nlohmann::json& json, TrainOptions& options,
                             const std::string& where);

}  // namespace lethe::train
