// ModelConfig parsing and validation: supported model types, activation, rope scaling, sliding
// window.
#include "model/model_config.h"

#include <cmath>

#include "core/error.h"
#include "core/json_io.h"

namespace lethe::model {
namespace {

using nlohmann::json;

template <typename T>
T get_or(const json& j, const std::string& key, T fallback, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    LETHE_FAIL(where, ": field '", key, "' has the wrong type (", it->dump(), ")");
  }
}

// An integer field: a JSON integer within int64_t (a float such as 1e20 is an error, never a cast).
int64_t as_int64(const json& v, const std::string& key, const std::string& where) {
  LETHE_CHECK(
      v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}),
      where, ": field '", key, "' must be an integer, got ", v.dump());
  return v.get<int64_t>();
}

template <>
int64_t get_or<int64_t>(const json& j, const std::string& key, int64_t fallback,
                        const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return as_int64(*it, key, where);
}

int64_t require_positive(const json& j, const std::string& key, const std::string& where) {
  auto it = j.find(key);
  LETHE_CHECK(it != j.end() && !it->is_null(), where, ": missing field '", key, "'");
  LETHE_CHECK(it->is_number_integer() && as_int64(*it, key, where) > 0, where, ": field '", key,
              "' must be a positive integer, got ", it->dump());
  return it->get<int64_t>();
}

std::optional<RopeScaling> parse_rope_scaling(const json& j, const std::string& where) {
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return std::nullopt;
  LETHE_CHECK(it->is_object(), where, ": field 'rope_scaling' must be an object or null");
  std::string type = get_or<std::string>(*it, "rope_type", "", where);
  if (type.empty()) type = get_or<std::string>(*it, "type", "", where);
  if (type == "default") return std::nullopt;
  RopeScaling scaling;
  scaling.rope_type = type;
  scaling.factor = get_or<double>(*it, "factor", 1.0, where);
  LETHE_CHECK(scaling.factor > 0.0, where, ": rope_scaling.factor must be positive");
  if (type == "linear") return scaling;
  if (type == "llama3") {
    scaling.low_freq_factor = get_or<double>(*it, "low_freq_factor", 1.0, where);
    scaling.high_freq_factor = get_or<double>(*it, "high_freq_factor", 4.0, where);
    scaling.original_max_position_embeddings =
        get_or<int64_t>(*it, "original_max_position_embeddings", 8192, where);
    LETHE_CHECK(scaling.high_freq_factor > scaling.low_freq_factor, where,
                ": rope_scaling.high_freq_factor must exceed low_freq_factor");
    return scaling;
  }
  LETHE_FAIL(where, ": rope_scaling type '", type,
             "' is not supported (supported: default, linear, llama3)");
}

// The parameter count in T: long double to check the range, int64_t once it is known to fit.
template <typename T>
T count_parameters(const ModelConfig& c) {
  const T C = c.hidden_size, D = c.head_dim, I = c.intermediate_size;
  const T q = T(c.num_attention_heads) * D, kv = T(c.num_key_value_heads) * D;
  T attn = C * q + 2 * C * kv + q * C;
  if (c.has_qkv_bias()) attn += q + 2 * kv;
  if (c.has_o_bias()) attn += C;
  T mlp = 3 * C * I;
  if (c.mlp_bias) mlp += 2 * I + C;
  const T layer = attn + mlp + 2 * C;
  const T embed = T(c.vocab_size) * C;
  return embed * (c.tie_word_embeddings ? 1 : 2) + T(c.num_hidden_layers) * layer + C;
}

}  // namespace

ModelConfig ModelConfig::from_json(const json& j, const std::string& where) {
  LETHE_CHECK(j.is_object(), where, ": config must be a JSON object");
  ModelConfig c;
  c.model_type = get_or<std::string>(j, "model_type", "", where);
  LETHE_CHECK(c.model_type == "qwen2" || c.model_type == "llama", where, ": model_type '",
              c.model_type, "' is not supported (supported: qwen2, llama)");
  c.architectures = get_or<std::vector<std::string>>(j, "architectures", {}, where);
  for (const auto& arch : c.architectures) {
    LETHE_CHECK(arch == "Qwen2ForCausalLM" || arch == "LlamaForCausalLM", where,
                ": architectures entry '", arch,
                "' is not supported (supported: Qwen2ForCausalLM, LlamaForCausalLM)");
  }
  if (c.architectures.empty()) {
    c.architectures = {c.model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  }
  c.vocab_size = require_positive(j, "vocab_size", where);
  c.hidden_size = require_positive(j, "hidden_size", where);
  c.intermediate_size = require_positive(j, "intermediate_size", where);
  c.num_hidden_layers = require_positive(j, "num_hidden_layers", where);
  c.num_attention_heads = require_positive(j, "num_attention_heads", where);
  c.num_key_value_heads = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                              ? require_positive(j, "num_key_value_heads", where)
                              : c.num_attention_heads;
  LETHE_CHECK(c.num_attention_heads % c.num_key_value_heads == 0, where, ": num_attention_heads (",
              c.num_attention_heads, ") must be a multiple of num_key_value_heads (",
              c.num_key_value_heads, ")");
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    c.head_dim = require_positive(j, "head_dim", where);
  } else {
    LETHE_CHECK(c.hidden_size % c.num_attention_heads == 0, where, ": hidden_size (", c.hidden_size,
                ") must be divisible by num_attention_heads (", c.num_attention_heads, ")");
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  LETHE_CHECK(c.head_dim % 2 == 0, where, ": head_dim must be even for rotary embeddings, got ",
              c.head_dim);
  c.max_position_embeddings = j.contains("max_position_embeddings")
                                  ? require_positive(j, "max_position_embeddings", where)
                                  : 2048;
  c.rms_norm_eps = get_or<double>(j, "rms_norm_eps", 1e-6, where);
  LETHE_CHECK(c.rms_norm_eps > 0.0, where, ": field 'rms_norm_eps' must be positive");
  c.rope_theta = get_or<double>(j, "rope_theta", 10000.0, where);
  LETHE_CHECK(c.rope_theta > 0.0, where, ": field 'rope_theta' must be positive");
  c.rope_scaling = parse_rope_scaling(j, where);
  c.tie_word_embeddings = get_or<bool>(j, "tie_word_embeddings", false, where);
  if (c.model_type == "qwen2") {
    c.attention_bias = true;
    c.mlp_bias = false;
  } else {
    c.attention_bias = get_or<bool>(j, "attention_bias", false, where);
    c.mlp_bias = get_or<bool>(j, "mlp_bias", false, where);
  }
  c.hidden_act = get_or<std::string>(j, "hidden_act", "silu", where);
  LETHE_CHECK(c.hidden_act == "silu", where, ": hidden_act '", c.hidden_act,
              "' is not supported (supported: silu)");
  c.use_sliding_window = get_or<bool>(j, "use_sliding_window", false, where);
  auto sw = j.find("sliding_window");
  if (sw != j.end() && !sw->is_null())
    c.sliding_window = get_or<int64_t>(j, "sliding_window", 0, where);
  c.max_window_layers = get_or<int64_t>(j, "max_window_layers", c.num_hidden_layers, where);
  // HF Qwen2 applies the window to layers >= max_window_layers when use_sliding_window is set.
  const bool window_in_use = c.use_sliding_window && c.sliding_window.has_value() &&
                             *c.sliding_window < c.max_position_embeddings &&
                             c.max_window_layers < c.num_hidden_layers;
  LETHE_CHECK(!window_in_use, where,
              ": use_sliding_window with sliding_window=", c.sliding_window.value_or(0),
              " is not supported (sliding-window attention)");
  auto bos = j.find("bos_token_id");
  if (bos != j.end() && bos->is_number_integer())
    c.bos_token_id = as_int64(*bos, "bos_token_id", where);
  auto eos = j.find("eos_token_id");
  if (eos != j.end() && eos->is_number_integer()) {
    c.eos_token_id = {as_int64(*eos, "eos_token_id", where)};
  } else if (eos != j.end() && eos->is_array()) {
    for (const auto& id : *eos) c.eos_token_id.push_back(as_int64(id, "eos_token_id", where));
  }
  c.torch_dtype = get_or<std::string>(j, "torch_dtype", "float32", where);
  // num_parameters() counts in int64_t; absurd sizes (a corrupt or hostile file) stop here.
  const long double count = count_parameters<long double>(c);
  LETHE_CHECK(count < 4e18L, where, ": the sizes describe ", static_cast<double>(count),
              " parameters, more than any model lethe can hold");
  return c;
}

ModelConfig ModelConfig::from_file(const std::string& path) {
  return from_json(core::read_json(path), path);
}

json ModelConfig::to_json() const {
  json j;
  j["architectures"] = architectures;
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  if (head_dim != hidden_size / num_attention_heads) j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  if (rope_scaling) {
    json s{{"rope_type", rope_scaling->rope_type}, {"factor", rope_scaling->factor}};
    if (rope_scaling->rope_type == "llama3") {
      s["low_freq_factor"] = rope_scaling->low_freq_factor;
      s["high_freq_factor"] = rope_scaling->high_freq_factor;
      s["original_max_position_embeddings"] = rope_scaling->original_max_position_embeddings;
    }
    j["rope_scaling"] = s;
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["tie_word_embeddings"] = tie_word_embeddings;
  if (model_type == "llama") {
    j["attention_bias"] = attention_bias;
    j["mlp_bias"] = mlp_bias;
  }
  j["hidden_act"] = hidden_act;
  j["use_sliding_window"] = use_sliding_window;
  j["sliding_window"] = sliding_window ? json(*sliding_window) : json(nullptr);
  j["max_window_layers"] = max_window_layers;
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_id.size() == 1) j["eos_token_id"] = eos_token_id[0];
  if (eos_token_id.size() > 1) j["eos_token_id"] = eos_token_id;
  j["torch_dtype"] = torch_dtype;
  return j;
}

int64_t ModelConfig::num_parameters() const {
  return count_parameters<int64_t>(*this);  // from_json checked that this fits
}

double ModelConfig::num_parameters_approx() const {
  return static_cast<double>(count_parameters<long double>(*this));
}

}  // namespace lethe::model
