// Training options <-> JSON (the YAML config's keys), with errors naming the file and the key.
#include "train/train_options.h"

#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "train/autocast.h"

namespace lethe::train {

using nlohmann::json;

std::string reference_model_name(ReferenceModel reference) {
  return reference == ReferenceModel::initial ? "initial" : "adapter_disabled";
}

ReferenceModel parse_reference_model(const std::string& name) {
  if (name == "initial") return ReferenceModel::initial;
  if (name == "adapter_disabled") return ReferenceModel::adapter_disabled;
  throw UsageError("unknown reference model '" + name + "' (valid: initial, adapter_disabled)");
}

json train_options_to_json(const TrainOptions& o) {
  json j;
  j["objective"] = o.objective;
  j["objective_params"] = json::object();
  for (const auto& [k, v] : o.objective_params) j["objective_params"][k] = v;
  j["reference"] = reference_model_name(o.reference);
  j["learning_rate"] = o.schedule.lr;
  j["lr_scheduler"] = schedule_name(o.schedule.kind);
  j["warmup_steps"] = o.schedule.warmup_steps;
  j["warmup_ratio"] = o.schedule.warmup_ratio;
  j["min_lr_ratio"] = o.schedule.min_lr_ratio;
  j["weight_decay"] = o.adamw.weight_decay;
  j["adam_beta1"] = o.adamw.beta1;
  j["adam_beta2"] = o.adamw.beta2;
  j["adam_epsilon"] = o.adamw.eps;
  j["epochs"] = o.epochs;
  j["max_steps"] = o.max_steps;
  j["batch_size"] = o.batch_size;
  j["grad_accum"] = o.grad_accum;
  j["max_grad_norm"] = o.max_grad_norm;
  j["group_by_length"] = o.group_by_length;
  j["autocast"] = o.autocast;
  j["seed"] = o.seed;
  j["trainable_layers"] = o.trainable_layers;
  j["save_every_steps"] = o.save_every_steps;
  j["save_epochs"] = o.save_epochs;
  j["keep_checkpoints"] = o.keep_checkpoints;
  j["log_every"] = o.log_every;
  if (o.eval_every > 0 || !o.stop_when.empty()) {
    j["eval_every"] = o.eval_every;
    j["eval_limit"] = o.eval_limit;
    j["eval_max_new_tokens"] = o.eval_max_new_tokens;
    j["stop_when"] = o.stop_when;
  }
  return j;
}

namespace {

template <typename T>
T get_as(const json& j, const std::string& key, const std::string& where) {
  try {
    if constexpr (std::is_same_v<T, bool>) {
      LETHE_CHECK(j.is_boolean(), where, ": '", key, "' must be true or false, got ", j.dump());
      return j.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      LETHE_CHECK(j.is_number_integer() ||
                      (j.is_number() && std::floor(j.get<double>()) == j.get<double>()),
                  where, ": '", key, "' must be an integer, got ", j.dump());
      if constexpr (std::is_unsigned_v<T>) {
        LETHE_CHECK(j.get<double>() >= 0, where, ": '", key, "' must be >= 0, got ", j.dump());
      }
      return static_cast<T>(j.get<double>());
    } else if constexpr (std::is_floating_point_v<T>) {
      LETHE_CHECK(j.is_number(), where, ": '", key, "' must be a number, got ", j.dump());
      return j.get<double>();
    } else {
      LETHE_CHECK(j.is_string(), where, ": '", key, "' must be a string, got ", j.dump());
      return j.get<std::string>();
    }
  } catch (const json::exception& e) {
    LETHE_FAIL(where, ": '", key, "': ", e.what());
  }
}

std::vector<int64_t> int_list(const json& j, const std::string& key, const std::string& where) {
  std::vector<int64_t> values;
  if (j.is_number()) return {get_as<int64_t>(j, key, where)};
  LETHE_CHECK(j.is_array(), where, ": '", key, "' must be a list of integers, got ", j.dump());
  for (const auto& item : j) values.push_back(get_as<int64_t>(item, key, where));
  return values;
}

}  // namespace

void train_options_from_json(const json& j, TrainOptions& o, const std::string& where) {
  LETHE_CHECK(j.is_object(), where, ": training options must be a mapping");
  for (const auto& [key, value] : j.items()) {
    if (key == "objective")
      o.objective = get_as<std::string>(value, key, where);
    else if (key == "objective_params") {
      LETHE_CHECK(value.is_object(), where, ": 'objective_params' must be a mapping");
      for (const auto& [k, v] : value.items()) o.objective_params[k] = get_as<double>(v, k, where);
    } else if (key == "reference")
      o.reference = parse_reference_model(get_as<std::string>(value, key, where));
    else if (key == "learning_rate")
      o.schedule.lr = get_as<double>(value, key, where);
    else if (key == "lr_scheduler")
      o.schedule.kind = parse_schedule(get_as<std::string>(value, key, where));
    else if (key == "warmup_steps")
      o.schedule.warmup_steps = get_as<int64_t>(value, key, where);
    else if (key == "warmup_ratio")
      o.schedule.warmup_ratio = get_as<double>(value, key, where);
    else if (key == "min_lr_ratio")
      o.schedule.min_lr_ratio = get_as<double>(value, key, where);
    else if (key == "weight_decay")
      o.adamw.weight_decay = get_as<double>(value, key, where);
    else if (key == "adam_beta1")
      o.adamw.beta1 = get_as<double>(value, key, where);
    else if (key == "adam_beta2")
      o.adamw.beta2 = get_as<double>(value, key, where);
    else if (key == "adam_epsilon")
      o.adamw.eps = get_as<double>(value, key, where);
    else if (key == "epochs")
      o.epochs = get_as<int64_t>(value, key, where);
    else if (key == "max_steps")
      o.max_steps = get_as<int64_t>(value, key, where);
    else if (key == "batch_size")
      o.batch_size = get_as<int64_t>(value, key, where);
    else if (key == "grad_accum")
      o.grad_accum = get_as<int64_t>(value, key, where);
    else if (key == "max_grad_norm")
      o.max_grad_norm = get_as<double>(value, key, where);
    else if (key == "group_by_length")
      o.group_by_length = get_as<bool>(value, key, where);
    else if (key == "seed")
      o.seed = get_as<uint64_t>(value, key, where);
    else if (key == "autocast") {
      o.autocast = get_as<std::string>(value, key, where);
      parse_autocast(o.autocast);
    } else if (key == "trainable_layers")
      o.trainable_layers = int_list(value, key, where);
    else if (key == "save_every_steps")
      o.save_every_steps = get_as<int64_t>(value, key, where);
    else if (key == "save_epochs")
      o.save_epochs = int_list(value, key, where);
    else if (key == "keep_checkpoints")
      o.keep_checkpoints = get_as<int64_t>(value, key, where);
    else if (key == "log_every")
      o.log_every = get_as<int64_t>(value, key, where);
    else if (key == "eval_every")
      o.eval_every = get_as<int64_t>(value, key, where);
    else if (key == "eval_limit")
      o.eval_limit = get_as<int64_t>(value, key, where);
    else if (key == "eval_max_new_tokens")
      o.eval_max_new_tokens = get_as<int64_t>(value, key, where);
    else if (key == "stop_when")
      o.stop_when = value.is_null() ? "" : get_as<std::string>(value, key, where);
    else
      LETHE_FAIL(where, ": unknown training option '", key, "'");
  }
  LETHE_CHECK(std::isfinite(o.schedule.lr) && o.schedule.lr > 0, where,
              ": learning_rate must be positive, got ", o.schedule.lr);
  LETHE_CHECK(o.epochs > 0 || o.max_steps > 0, where, ": epochs must be positive, got ", o.epochs);
  LETHE_CHECK(o.max_steps >= 0, where, ": max_steps must be >= 0, got ", o.max_steps);
  LETHE_CHECK(o.batch_size > 0, where, ": batch_size must be positive, got ", o.batch_size);
  LETHE_CHECK(o.grad_accum > 0, where, ": grad_accum must be positive, got ", o.grad_accum);
  LETHE_CHECK(o.save_every_steps >= 0, where, ": save_every_steps must be >= 0");
  LETHE_CHECK(o.keep_checkpoints >= 1, where, ": keep_checkpoints must be >= 1");
  LETHE_CHECK(o.log_every >= 1, where, ": log_every must be >= 1");
  for (auto e : o.save_epochs) LETHE_CHECK(e >= 1, where, ": save_epochs must be >= 1, got ", e);
  LETHE_CHECK(o.eval_every >= 0, where, ": eval_every must be >= 0, got ", o.eval_every);
  LETHE_CHECK(o.eval_limit >= 0, where, ": eval_limit must be >= 0 (0: every question), got ",
              o.eval_limit);
  LETHE_CHECK(o.eval_max_new_tokens > 0, where, ": eval_max_new_tokens must be positive, got ",
              o.eval_max_new_tokens);
  LETHE_CHECK(o.stop_when.empty() || o.eval_every > 0, where,
              ": stop_when needs eval_every > 0 (the criterion is checked at each evaluation)");
}

}  // namespace lethe::train
