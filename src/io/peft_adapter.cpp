// PEFT LoRA adapters: adapter_config.json parsing/writing and adapter_model.safetensors key
// mapping.
#include "io/peft_adapter.h"

#include <cmath>

#include "core/error.h"
#include "core/json_io.h"
#include "io/safetensors.h"

namespace lethe::io {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";
constexpr const char* kKeyPrefix = "base_model.model.";

bool is_empty_like(const json& value) {
  return value.is_null() || (value.is_object() && value.empty()) ||
         (value.is_array() && value.empty());
}

template <typename T>
T get_or(const json& obj, const char* key, T fallback) {
  return obj.contains(key) && !obj[key].is_null() ? obj[key].get<T>() : fallback;
}

std::string module_name(const std::string& prefix) {
  auto dot = prefix.rfind('.');
  return dot == std::string::npos ? prefix : prefix.substr(dot + 1);
}

void check_adapter(const Adapter& adapter, const std::string& where) {
  const auto& targets = adapter.config.target_modules;
  LETHE_CHECK(!adapter.modules.empty(), where, ": the adapter has no lora_A/lora_B weights");
  for (const auto& [prefix, w] : adapter.modules) {
    const std::string what = where + ": module '" + prefix + "'";
    LETHE_CHECK(w.lora_A.defined(), what, ": lora_A missing");
    LETHE_CHECK(w.lora_B.defined(), what, ": lora_B missing");
    LETHE_CHECK(std::find(targets.begin(), targets.end(), module_name(prefix)) != targets.end(),
                what, ": '", module_name(prefix), "' is not in target_modules");
    LETHE_CHECK(w.lora_A.dim() == 2 && w.lora_B.dim() == 2, what,
                ": lora_A and lora_B must be matrices, got ", w.lora_A.sizes(), " and ",
                w.lora_B.sizes());
    LETHE_CHECK(w.lora_A.size(0) == adapter.config.r && w.lora_B.size(1) == adapter.config.r, what,
                ": rank mismatch: lora_A ", w.lora_A.sizes(), " (want [r, in]), lora_B ",
                w.lora_B.sizes(), " (want [out, r]), r = ", adapter.config.r);
  }
}
}  // namespace

double AdapterConfig::scaling() const {
  return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r))
                    : lora_alpha / static_cast<double>(r);
}

AdapterConfig parse_adapter_config(const json& j, const std::string& where) {
  LETHE_CHECK(j.is_object(), where, ": must be a JSON object");
  AdapterConfig c;
  try {
    LETHE_CHECK(j.contains("peft_type") && j["peft_type"].is_string(), where,
                ": field 'peft_type' missing");
    c.peft_type = j["peft_type"].get<std::string>();
    LETHE_CHECK(c.peft_type == "LORA", where, ": peft_type '", c.peft_type,
                "' is not supported (only LORA)");
    c.task_type = get_or<std::string>(j, "task_type", "CAUSAL_LM");
    LETHE_CHECK(c.task_type == "CAUSAL_LM", where, ": task_type '", c.task_type,
                "' is not supported (only CAUSAL_LM)");
    c.base_model_name_or_path = get_or<std::string>(j, "base_model_name_or_path", "");
    if (j.contains("revision") && !j["revision"].is_null())
      c.revision = j["revision"].get<std::string>();

    LETHE_CHECK(j.contains("r") && j["r"].is_number_integer() && j["r"].get<int64_t>() > 0, where,
                ": field 'r' must be a positive integer");
    c.r = j["r"].get<int64_t>();
    c.lora_alpha = get_or<double>(j, "lora_alpha", 8.0);
    LETHE_CHECK(c.lora_alpha > 0, where, ": lora_alpha must be positive, got ", c.lora_alpha);
    c.lora_dropout = get_or<double>(j, "lora_dropout", 0.0);
    LETHE_CHECK(c.lora_dropout >= 0 && c.lora_dropout < 1, where,
                ": lora_dropout must be in [0, 1), got ", c.lora_dropout);
    c.use_rslora = get_or<bool>(j, "use_rslora", false);
    c.inference_mode = get_or<bool>(j, "inference_mode", true);
    // A string init ("gaussian", "pissa", ...) only matters when creating an adapter.
    c.init_lora_weights = !j.contains("init_lora_weights") ||
                          !j["init_lora_weights"].is_boolean() ||
                          j["init_lora_weights"].get<bool>();

    LETHE_CHECK(j.contains("target_modules") && !j["target_modules"].is_null(), where,
                ": field 'target_modules' missing");
    const json& targets = j["target_modules"];
    if (targets.is_string()) {
      const std::string t = targets.get<std::string>();
      LETHE_CHECK(t != "all-linear", where,
                  ": target_modules 'all-linear' is not supported; list the modules, e.g. "
                  "[\"q_proj\", \"v_proj\"]");
      LETHE_FAIL(where, ": target_modules is a regex ('", t,
                 "'); only the list form is supported, e.g. [\"q_proj\", \"v_proj\"]");
    }
    LETHE_CHECK(targets.is_array() && !targets.empty(), where,
                ": target_modules must be a non-empty list of module names");
    for (const auto& t : targets) {
      LETHE_CHECK(t.is_string(), where, ": target_modules entries must be strings");
      c.target_modules.push_back(t.get<std::string>());
    }

    c.bias = get_or<std::string>(j, "bias", "none");
    LETHE_CHECK(c.bias == "none", where, ": bias '", c.bias,
                "' is not supported (only \"none\": no trained biases)");
    LETHE_CHECK(!get_or<bool>(j, "use_dora", false), where,
                ": use_dora is true: DoRA adapters are not supported");
    LETHE_CHECK(!get_or<bool>(j, "fan_in_fan_out", false), where,
                ": fan_in_fan_out is true (Conv1D/GPT-2 layout) which is not supported");
    LETHE_CHECK(!get_or<bool>(j, "lora_bias", false), where,
                ": lora_bias is true: LoRA bias terms are not supported");
    for (const char* key :
         {"layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern",
          "modules_to_save", "layer_replication", "exclude_modules"}) {
      LETHE_CHECK(!j.contains(key) || is_empty_like(j[key]), where, ": ", key, " = ", j[key].dump(),
                  " is not supported (must be null or empty)");
    }
  } catch (const json::exception& e) {
    LETHE_FAIL(where, ": wrong type in adapter config: ", e.what());
  }
  return c;
}

AdapterConfig read_adapter_config(const fs::path& path) {
  return parse_adapter_config(core::read_json(path), path.string());
}

json adapter_config_to_json(const AdapterConfig& c) {
  json alpha = std::floor(c.lora_alpha) == c.lora_alpha && std::abs(c.lora_alpha) < 1e15
                   ? json(static_cast<int64_t>(c.lora_alpha))
                   : json(c.lora_alpha);
  return json{
      {"alpha_pattern", json::object()},
      {"auto_mapping", nullptr},
      {"base_model_name_or_path",
       c.base_model_name_or_path.empty() ? json(nullptr) : json(c.base_model_name_or_path)},
      {"bias", c.bias},
      {"eva_config", nullptr},
      {"exclude_modules", nullptr},
      {"fan_in_fan_out", false},
      {"inference_mode", c.inference_mode},
      {"init_lora_weights", c.init_lora_weights},
      {"layer_replication", nullptr},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"loftq_config", json::object()},
      {"lora_alpha", alpha},
      {"lora_bias", false},
      {"lora_dropout", c.lora_dropout},
      {"megatron_config", nullptr},
      {"megatron_core", "megatron.core"},
      {"modules_to_save", nullptr},
      {"peft_type", c.peft_type},
      {"r", c.r},
      {"rank_pattern", json::object()},
      {"revision", c.revision ? json(*c.revision) : json(nullptr)},
      {"target_modules", c.target_modules},
      {"task_type", c.task_type},
      {"use_dora", false},
      {"use_rslora", c.use_rslora},
  };
}

std::string peft_key(const std::string& module_prefix, const std::string& lora_part) {
  return kKeyPrefix + module_prefix + "." + lora_part + ".weight";
}

std::optional<std::pair<std::string, std::string>> parse_peft_key(const std::string& key) {
  const std::string prefix = kKeyPrefix, suffix = ".weight";
  if (key.size() <= prefix.size() + suffix.size() || key.compare(0, prefix.size(), prefix) != 0 ||
      key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  std::string body = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
  for (const std::string part : {"lora_A", "lora_B"}) {
    const std::string marker = "." + part;
    size_t pos = body.rfind(marker);
    if (pos == std::string::npos || pos == 0) continue;
    const std::string rest = body.substr(pos + marker.size());
    // ".lora_A" at the end, or ".lora_A.<adapter name>" (the in-memory form).
    if (rest.empty() ||
        (rest[0] == '.' && rest.find('.', 1) == std::string::npos && rest.size() > 1))
      return std::make_pair(body.substr(0, pos), part);
  }
  return std::nullopt;
}

Adapter load_adapter(const fs::path& folder) {
  LETHE_CHECK(fs::is_directory(folder), folder.string(), ": no such adapter folder");
  const fs::path config_path = folder / kConfigFile;
  LETHE_CHECK(fs::is_regular_file(config_path), config_path.string(),
              ": missing (not a PEFT adapter folder?)");
  const fs::path weights_path = folder / kWeightsFile;
  LETHE_CHECK(fs::is_regular_file(weights_path), weights_path.string(), ": missing",
              fs::exists(folder / "adapter_model.bin")
                  ? " (adapter_model.bin is not supported: save with safe_serialization=True)"
                  : "");
  Adapter adapter;
  adapter.config = read_adapter_config(config_path);
  auto file = SafetensorsFile::open(weights_path);
  for (const auto& key : file->names()) {
    auto parsed = parse_peft_key(key);
    LETHE_CHECK(parsed, weights_path.string(), ": unexpected tensor '", key,
                "' (only <module>.lora_A.weight / lora_B.weight are supported)");
    LoraWeights& w = adapter.modules[parsed->first];
    torch::Tensor& slot = parsed->second == "lora_A" ? w.lora_A : w.lora_B;
    LETHE_CHECK(!slot.defined(), weights_path.string(), ": tensor '", key, "' given twice");
    slot = file->tensor(key);
  }
  check_adapter(adapter, weights_path.string());
  return adapter;
}

void save_adapter(const fs::path& folder, const Adapter& adapter) {
  check_adapter(adapter, folder.string());
  StateDict tensors;
  for (const auto& [prefix, w] : adapter.modules) {
    tensors.emplace(peft_key(prefix, "lora_A"), w.lora_A);
    tensors.emplace(peft_key(prefix, "lora_B"), w.lora_B);
  }
  write_safetensors(folder / kWeightsFile, tensors, {{"format", "pt"}});
  core::write_json(folder / kConfigFile, adapter_config_to_json(adapter.config));
}

}  // namespace lethe::io
