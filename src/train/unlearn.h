// The unlearning job behind `lethe unlearn`: start from a fine-tuned PEFT adapter, update its LoRA
// weights with one registered objective, write PEFT adapters (final + requested epochs),
// metrics.jsonl and the resolved config.yaml. task_vector trains a forget-only LoRA and negates it
// onto the adapter. `parameters: full` merges the adapter and trains every weight (HF model out).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/causal_lm.h"
#include "text/tokenizer.h"
#include "train/trainer.h"

namespace lethe::train {

struct UnlearnConfig {
  std::string model;    // base model folder or HF id (local cache)
  std::string adapter;  // the fine-tuned PEFT adapter folder (the starting point and the reference)
  std::string forget;   // QA JSONL (sf.jsonl)
  std::string retain;   // QA JSONL (sr.jsonl); "" when the method needs none
  std::string out;
  std::string dtype = "float32";
  std::string device = "cpu";
  int64_t max_length = 512;
  std::optional<std::string> system_prompt;
  uint64_t refusal_seed = 0;  // which "I don't know" variant each forget question gets (dpo, rt)
  // Which weights train: "lora" (the adapter's) or "full" (the adapter merged into the base
  // weights, every float32 weight trains, complete HF model folders out).
  std::string parameters = "lora";
  TrainOptions train;  // train.objective is the method, train.objective_params its params
};

// Unlearning defaults: lr 1e-5 (TOFU), 5 epochs, batch 8, constant schedule, method grad_ascent.
UnlearnConfig default_unlearn_config();

// Keys: model, adapter, method, params {name: value}, forget, retain, out, dtype, device,
// max_length, system_prompt, refusal_seed, parameters, and every train_options_to_json key except
// objective/objective_params.
nlohmann::json unlearn_config_to_json(const UnlearnConfig& config);
void unlearn_config_from_json(const nlohmann::json& json, UnlearnConfig& config,
                              const std::string& where);

// The checks that need no model: known method, known and in-range params (lethe::UsageError listing
// the valid ones), a retain set when the method needs one, the input files and folders present;
// for parameters "full" (else "lora"): float32 weights, a method and reference that need no
// adapter; stop_when parsed (train/stop_criterion.h), its retain keys only with a retain set, and
// no evaluation during training for a method that negates its adapter (task_vector).
void check_unlearn_config(const UnlearnConfig& config);

// Renders the QA files with the tokenizer's chat template: forget, retain (when the method reads
// it) and refusal answers for the forget questions (when it needs preferred answers). Throws
// lethe::Error for an empty file.
TrainData load_unlearn_data(const text::Tokenizer& tokenizer, const UnlearnConfig& config);

// Runs the method on a model that carries the fine-tuned adapter (already loaded) and writes the
// run into `out` (see train::train). For task_vector the model's adapter is replaced by a fresh one
// of the same shape trained on the forget set, and every export is the negated combination.
// With a process group: data-parallel (train::train).
TrainResult unlearn_model(model::CausalLM& model, const TrainData& data,
                          const TrainOptions& options, const std::string& base_model_name,
                          const std::filesystem::path& out, bool resume,
                          ProcessGroup* group = nullptr, StepEvaluator evaluate = {});

// Full-parameter unlearning: merges the model's fine-tuned adapter into its weights
// (model::merge_and_unload_lora), trains every weight with the method and writes complete HF model
// folders into `out` and its epoch-N exports (model::save_pretrained + the tokenizer files and
// generation_config.json of `base_model_dir`). The reference of npo/dpo/kl terms is the merged
// model before the first update. Throws lethe::Error, leaving the model as it was, for task_vector,
// reference adapter_disabled, weights that are not float32 or a model without an adapter.
TrainResult unlearn_model_full(model::CausalLM& model, const TrainData& data,
                               const TrainOptions& options,
                               const std::filesystem::path& base_model_dir,
                               const std::filesystem::path& out, bool resume,
                               ProcessGroup* group = nullptr, StepEvaluator evaluate = {});

// The whole job: checks, load model + adapter (an adapter that does not fit the model is an error
// before training), data, config.yaml, unlearn_model (parameters "full": a memory check for the
// float32 weights, gradients, AdamW moments and RMU's initial copy first, then unlearn_model_full).
// With a process group of world size > 1 every
// rank runs this with the same config; the run is data-parallel and only rank 0 writes files.
// With eval_every > 0 the run is evaluated during training (train/training_eval.h: the forget and
// retain files' first eval_limit questions; refused in data-parallel runs) and
// OUT/unlearn_result.json records the outcome (unlearn_result_json).
TrainResult run_unlearn(const UnlearnConfig& config, bool resume, ProcessGroup* group = nullptr);

// OUT/unlearn_result.json: method, steps, total_steps, final_loss, seconds, completed, eval_every,
// stop_when, stop_step (null when not met) and last_eval (the latest evaluation's values).
nlohmann::json unlearn_result_json(const UnlearnConfig& config, const TrainResult& result);

}  // namespace lethe::train
