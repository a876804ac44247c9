// Shared by the model commands (inspect, generate, score): the MODEL/--adapter/--dtype/--device
// options, token-id parsing, and reading ids or text from a JSONL record.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/runtime.h"
#include "model/pretrained.h"

namespace lethe::cli {

struct ModelOptions {
  std::string model;
  std::string adapter;
  std::string dtype = "float32";
  std::string device = "cpu";
};

// --dtype and --device of every command that loads a model.
inline void add_dtype_device_options(CLI::App* cmd, std::string& dtype, std::string& device) {
  cmd->add_option("--dtype", dtype,
                  "auto | float32 | bfloat16 | float16 (auto: bfloat16 on CUDA or a CPU with "
                  "avx512_bf16/amx_bf16, else float32)")
      ->check(CLI::IsMember({"auto", "float32", "bfloat16", "float16"}))
      ->capture_default_str();
  cmd->add_option("--device", device, "cpu | cuda | cuda:N")->capture_default_str();
}

inline void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("model", o.model, "model folder or Hugging Face model id (local cache)")
      ->required();
  cmd->add_option("--adapter", o.adapter, "PEFT LoRA adapter folder applied on top")
      ->capture_default_str();
  add_dtype_device_options(cmd, o.dtype, o.device);
}

inline model::Pretrained load_model(const ModelOptions& o) {
  const c10::Device device = core::parse_device(o.device);
  return model::load_pretrained(o.model, core::parse_dtype(o.dtype, device), device, o.adapter);
}

// "[1, 2, 3]", "1,2,3" or "1 2 3" -> ids; `what` names the option in errors.
inline std::vector<int64_t> parse_id_list(const std::string& text, const std::string& what) {
  std::string s = text;
  for (char& c : s)
    if (c == '[' || c == ']' || c == ',') c = ' ';
  std::istringstream in(s);
  std::vector<int64_t> ids;
  std::string word;
  while (in >> word) {
    size_t used = 0;
    int64_t id = -1;
    try {
      id = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || id < 0)
      throw UsageError(what + ": '" + word + "' is not a token id");
    ids.push_back(id);
  }
  return ids;
}

// record[field] as token ids within the vocabulary; `where` is "FILE:LINE".
inline std::vector<int64_t> record_ids(const nlohmann::json& record, const std::string& field,
                                       int64_t vocab_size, const std::string& where) {
  const auto& value = record.at(field);
  LETHE_CHECK(value.is_array(), where, ": field '", field, "' must be a list of token ids");
  std::vector<int64_t> ids;
  ids.reserve(value.size());
  for (const auto& v : value) {
    LETHE_CHECK(v.is_number_integer(), where, ": field '", field, "' holds a non-integer (",
                v.dump(), ")");
    const int64_t id = v.get<int64_t>();
    LETHE_CHECK(id >= 0 && id < vocab_size, where, ": field '", field, "' holds token id ", id,
                ", outside the model's vocabulary [0, ", vocab_size, ")");
    ids.push_back(id);
  }
  return ids;
}

inline std::string record_text(const nlohmann::json& record, const std::string& field,
                               const std::string& where) {
  const auto& value = record.at(field);
  LETHE_CHECK(value.is_string(), where, ": field '", field, "' must be a string");
  return value.get<std::string>();
}

}  // namespace lethe::cli
