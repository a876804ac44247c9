// The pretraining job behind `lethe pretrain`: a byte-level BPE tokenizer trained on the corpus, a
// small Qwen2-architecture model from scratch with every parameter trainable, and a complete HF
// model folder.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "model/model_config.h"
#include "train/trainer.h"

namespace lethe::train {

struct PretrainConfig {
  std::string corpus;  // corpus.jsonl (lethe's CorpusDoc records: prose text, or QA in chat format)
  std::string out;
  int64_t vocab_size = 2048;  // BPE vocabulary incl. special tokens
  int64_t hidden_size = 256;
  int64_t num_hidden_layers = 4;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 2;
  int64_t intermediate_size = 688;
  int64_t max_position_embeddings = 512;
  double rope_theta = 10000.0;
  int64_t max_length = 256;  // tokens per training example (longer prose is cut into pieces)
  // "cpu" | "cuda[:N]"; the weights are initialised on the CPU, so a seed gives the same start on
  // every device.
  std::string device = "cpu";
  // dtype of the written model.safetensors: "float32" | "bfloat16" | "float16". Training and the
  // resumable checkpoints stay float32; bf16 halves the shipped file (as HF Qwen2.5 ships).
  std::string save_dtype = "float32";
  TrainOptions train;  // defaults: lr 1e-3 cosine, 2% warm-up, weight decay 0.1, batch 16
  PretrainConfig();
};

// Keys: corpus, out, vocab_size, hidden_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, intermediate_size, max_position_embeddings, rope_theta, max_length, device,
// save_dtype and every train_options_to_json key.
nlohmann::json pretrain_config_to_json(const PretrainConfig& config);
void pretrain_config_from_json(const nlohmann::json& json, PretrainConfig& config,
                               const std::string& where);

// Runs it: out/ gets config.json, model.safetensors, generation_config.json, tokenizer.json,
// tokenizer_config.json (ChatML template), metrics.jsonl, config.yaml, checkpoints/.
TrainResult run_pretrain(const PretrainConfig& config, bool resume);

}  // namespace lethe::train
