// The one training loop: fine-tuning, pretraining and every unlearning method differ only in the
// objective (objectives::find_objective) and in which parameters train. Reference log-probs are
// cached once, metrics go to metrics.jsonl, checkpoints are atomic and a resumed run ends
// bit-identical to an uninterrupted one (CPU). Shapes: B batch, T tokens, C hidden.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/batching.h"
#include "model/causal_lm.h"
#include "objectives/objective.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"

namespace lethe::train {

class ProcessGroup;  // train/distributed.h

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
  // Decoder layers whose parameters train (empty: all trainable parameters). RMU defaults to
  // objectives::rmu_updated_layers(params).
  std::vector<int64_t> trainable_layers;

  int64_t save_every_steps = 0;      // > 0: a resumable checkpoint every N optimizer steps
  std::vector<int64_t> save_epochs;  // after these epochs (1-based): a model export in out/epoch-N
  int64_t keep_checkpoints = 1;      // step checkpoints kept (older ones are deleted)
  int64_t log_every = 1;             // metrics.jsonl line every N optimizer steps
  std::string label = "train";       // progress-bar label

  // Simulates a crash after this many optimizer steps of this invocation (tests of --resume).
  int64_t stop_after_steps = 0;
};

// The options as a JSON object (the keys of the YAML config) and back; from_json rejects unknown
// keys and bad values naming `where`. Keys: objective, objective_params, reference, learning_rate,
// lr_scheduler, warmup_steps, warmup_ratio, min_lr_ratio, weight_decay, adam_beta1, adam_beta2,
// adam_epsilon, epochs, max_steps, batch_size, grad_accum, max_grad_norm, group_by_length, seed,
// autocast, trainable_layers, save_every_steps, save_epochs, keep_checkpoints, log_every.
nlohmann::json train_options_to_json(const TrainOptions& options);
// Applies the keys present in `json` on top of `options`.
void train_options_from_json(const nlohmann::json& json, TrainOptions& options,
                             const std::string& where);

// The examples of each side. The forget side (the fine-tuning data for sft) defines an epoch;
// retain batches are drawn from their own seeded plan, cycling; preferred[i] answers the question
// of forget[i].
struct TrainData {
  std::vector<data::Example> forget;
  std::vector<data::Example> retain;
  std::vector<data::Example> preferred;
  int64_t pad_id = 0;
};

// What trains and how the model is written.
struct TrainTarget {
  NamedParameters params;  // trainable parameters by checkpoint name (lora_parameters, or all)
  // Writes the model (a PEFT adapter folder, or a full HF model folder) into a folder; atomically
  // per file.
  std::function<void(const std::filesystem::path&)> save_model;
};

struct TrainResult {
  int64_t steps = 0;  // optimizer steps done in total (including resumed ones)
  int64_t total_steps = 0;
  double final_loss = 0.0;  // mean loss of the last optimizer step
  double seconds = 0.0;     // wall time of this invocation
  double tokens_per_second = 0.0;
  bool completed = false;  // false when stopped by stop_after_steps
  bool resumed = false;
};

// Trains and writes into out_dir: metrics.jsonl (one line per logged step: step, epoch, loss, the
// objective's parts, lr, grad_norm, tokens, tokens_per_s, elapsed_s), checkpoints/step-N/
// (trainable.safetensors, optimizer.safetensors, trainer_state.json; `checkpoints/latest` names the
// newest), checkpoints/reference.safetensors (the cached reference log-probs), epoch-N/ exports,
// and at the end the model itself (save_model(out_dir)). With `resume`, continues from
// checkpoints/latest (an error if the checkpoint is corrupt or was made with other options or
// data); without it, an out_dir that already holds a run is an error (nothing is overwritten).
// With a process group of world size > 1 the run is data-parallel: every rank is called with the
// same data, options and starting weights (checked), takes its rows of every micro-batch, and ends
// with the weights of the single-process run on the whole batches (up to float rounding; LoRA
// dropout masks differ per rank); only rank 0 writes into out_dir, which a resume reads on every
// rank (a shared folder).
TrainResult train(model::CausalLM& model, TrainTarget target, const TrainData& data,
                  const TrainOptions& options, const std::filesystem::path& out_dir, bool resume,
                  ProcessGroup* group = nullptr);

// True when out_dir holds (part of) a training run: metrics.jsonl or checkpoints/.
bool has_training_run(const std::filesystem::path& out_dir);

}  // namespace lethe::train
