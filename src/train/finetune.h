// The fine-tuning job behind `lethe finetune`: a model, QA JSONL files rendered with its chat
// template, a fresh LoRA adapter trained with the `sft` objective (or any registered one), written
// as a PEFT adapter folder with metrics.jsonl and the resolved config.yaml.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/lora.h"
#include "train/trainer.h"

namespace lethe::train {

struct FinetuneConfig {
  std::string model;              // folder or HF model id (local cache)
  std::vector<std::string> data;  // QA JSONL files (question, answer[, subset])
  std::string out;
  bool retain_only = false;  // drop records whose subset is "forget" (the gold-standard model)
  std::string dtype =
      "float32";  // bfloat16: frozen weights and activations bf16, LoRA + AdamW fp32
  std::string device = "cpu";
  int64_t max_length = 512;
  std::optional<std::string> system_prompt;  // default: the chat template's own
  model::LoraConfig lora;
  TrainOptions train;
};

// Keys: model, data, out, retain_only, dtype, device, max_length, system_prompt, lora {r,
// lora_alpha, lora_dropout, target_modules, use_rslora}, and every train_options_to_json key at the
// top level.
nlohmann::json finetune_config_to_json(const FinetuneConfig& config);
void finetune_config_from_json(const nlohmann::json& json, FinetuneConfig& config,
                               const std::string& where);

// Runs it; see train::train for the output folder and resume rules. With a process group of world
// size > 1 every rank runs this with the same config; the run is data-parallel and only rank 0
// writes files.
TrainResult run_finetune(const FinetuneConfig& config, bool resume, ProcessGroup* group = nullptr);

}  // namespace lethe::train
