// `lethe quantize-eval` as a library call: for each adapter (and optionally the fine-tuned
// reference), evaluate forget / retain / utility metrics in full precision, then after merging the
// adapter and fake-quantizing the model with each scheme, and report how much forgotten knowledge
// comes back (docs/robustness.md).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/evaluator.h"

namespace lethe::quant {

struct QuantizeEvalConfig {
  std::string model;                  // base model folder (with tokenizer)
  std::vector<std::string> adapters;  // unlearned PEFT adapters
  std::vector<std::string> names;     // one per adapter (default: folder name)
  std::string reference_adapter;      // the fine-tuned model ("" = none): recovery fractions
  bool include_base = false;          // also quantize the base model alone
  std::string data;                   // dataset folder
  std::string out;                    // results JSON ("" = do not write)
  std::vector<std::string> schemes = {"int8", "int4_g128_sym", "nf4"};
  int64_t calibration_questions = 32;  // int8_outlier: forget + retain questions used
  std::string dtype = "float32";
  std::string device = "cpu";
  eval::EvalOptions options;  // metrics default: rouge_l, answer_prob, truth_ratio, model_utility
};

// Runs everything and returns the results document; writes it to config.out when set.
nlohmann::json run_quantize_eval(const QuantizeEvalConfig& config);

// (after - before) / (reference - before) when the reference is further from `before` than 1e-9,
// else null: the fraction of the gap between an unlearned model and the fine-tuned one that
// quantization closes (Zhang et al. 2024 report 21% -> 83% knowledge retained under 4-bit).
nlohmann::json recovery_fraction(double before, double after, double reference);

}  // namespace lethe::quant
