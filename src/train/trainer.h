// The one training loop: fine-tuning, pretraining and every unlearning method differ only in the
// objective (objectives::find_objective) and in which parameters train. Reference log-probs are
// cached once, metrics go to metrics.jsonl, checkpoints are atomic and a resumed run ends
// bit-identical to an uninterrupted one (CPU). Shapes: B batch, T tokens, C hidden.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/batching.h"
#include "model/causal_lm.h"
#include "train/adamw.h"
#include "train/train_options.h"
#include "train/training_eval.h"

namespace lethe::train {

class ProcessGroup;  // train/distributed.h

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
  // Evaluates the model as it is now (options.eval_every > 0 needs it; train/training_eval.h).
  StepEvaluator evaluate;
};

struct TrainResult {
  int64_t steps = 0;  // optimizer steps done in total (including resumed ones)
  int64_t total_steps = 0;
  double final_loss = 0.0;  // mean loss of the last optimizer step
  double seconds = 0.0;     // wall time of this invocation
  double tokens_per_second = 0.0;
  bool completed = false;  // false when stopped by stop_after_steps
  bool resumed = false;
  // The step whose evaluation met options.stop_when (the exported model is that step's); unset
  // when no criterion was set or it was never met.
  std::optional<int64_t> stop_step;
  EvalValues last_eval;  // the latest evaluation's values (empty without eval_every)
};

// Trains and writes into out_dir: metrics.jsonl (one line per logged step: step, epoch, loss, the
// objective's parts, lr, grad_norm, tokens, tokens_per_s, elapsed_s), checkpoints/step-N/
// (trainable.safetensors, optimizer.safetensors, trainer_state.json; `checkpoints/latest` names the
// newest), checkpoints/reference.safetensors (the cached reference log-probs), epoch-N/ exports,
// and at the end the model itself (save_model(out_dir)). With options.eval_every > 0,
// target.evaluate runs before the first step of a fresh run, every eval_every steps and after the
// last, each appending a "kind": "eval" row to metrics.jsonl; when options.stop_when holds at an
// evaluation after a step, the run ends there: that step is checkpointed (a resume finds it done),
// exported into out_dir and returned as stop_step. With `resume`, continues from
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
