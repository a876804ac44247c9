// `lethe unlearn` as a library call: validate, load model + fine-tuned adapter, render QA, train
// the LoRA weights with the chosen objective (task_vector: train a forget LoRA and negate it) or,
// with parameters "full", every weight of the merged model; save.
#include "train/unlearn.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/memory.h"
#include "core/runtime.h"
#include "data/batching.h"
#include "io/model_path.h"
#include "io/peft_adapter.h"
#include "model/generate.h"
#include "model/lora.h"
#include "model/pretrained.h"
#include "objectives/refusals.h"
#include "objectives/task_vector.h"
#include "train/config_file.h"
#include "train/distributed.h"
#include "train/stop_criterion.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

UnlearnConfig default_unlearn_config() {
  UnlearnConfig c;
  c.train.objective = "grad_ascent";
  c.train.schedule.lr = 1e-5;
  c.train.schedule.kind = ScheduleKind::constant;
  c.train.epochs = 5;
  c.train.batch_size = 8;
  c.train.label = "unlearn";
  return c;
}

json unlearn_config_to_json(const UnlearnConfig& c) {
  json j;
  j["model"] = c.model;
  j["adapter"] = c.adapter;
  j["method"] = c.train.objective;
  j["params"] = json::object();
  for (const auto& [k, v] : c.train.objective_params) j["params"][k] = v;
  j["forget"] = c.forget;
  j["retain"] = c.retain;
  j["out"] = c.out;
  j["dtype"] = c.dtype;
  j["device"] = c.device;
  j["max_length"] = c.max_length;
  j["system_prompt"] = c.system_prompt ? json(*c.system_prompt) : json(nullptr);
  j["refusal_seed"] = c.refusal_seed;
  j["parameters"] = c.parameters;
  json train_part = train_options_to_json(c.train);
  train_part.erase("objective");
  train_part.erase("objective_params");
  for (const auto& [key, value] : train_part.items()) j[key] = value;
  return j;
}

void unlearn_config_from_json(const json& j, UnlearnConfig& c, const std::string& where) {
  LETHE_CHECK(j.is_object(), where, ": the config must be a mapping");
  auto str = [&](const json& v, const std::string& key) {
    LETHE_CHECK(v.is_string(), where, ": '", key, "' must be a string, got ", v.dump());
    return v.get<std::string>();
  };
  json train_part = json::object();
  for (const auto& [key, value] : j.items()) {
    if (key == "model")
      c.model = str(value, key);
    else if (key == "adapter")
      c.adapter = str(value, key);
    else if (key == "method")
      c.train.objective = str(value, key);
    else if (key == "forget")
      c.forget = str(value, key);
    else if (key == "retain")
      c.retain = value.is_null() ? "" : str(value, key);
    else if (key == "out")
      c.out = str(value, key);
    else if (key == "dtype")
      c.dtype = str(value, key);
    else if (key == "device")
      c.device = str(value, key);
    else if (key == "parameters")
      c.parameters = str(value, key);
    else if (key == "system_prompt")
      c.system_prompt =
          value.is_null() ? std::nullopt : std::optional<std::string>(str(value, key));
    else if (key == "max_length") {
      LETHE_CHECK(value.is_number_integer() && value.get<int64_t>() > 1, where,
                  ": 'max_length' must be an integer > 1, got ", value.dump());
      c.max_length = value.get<int64_t>();
    } else if (key == "refusal_seed") {
      LETHE_CHECK(value.is_number_integer() && value.get<int64_t>() >= 0, where,
                  ": 'refusal_seed' must be an integer >= 0, got ", value.dump());
      c.refusal_seed = value.get<uint64_t>();
    } else if (key == "params" || key == "objective_params") {
      LETHE_CHECK(value.is_object(), where, ": '", key, "' must be a mapping of name: number");
      for (const auto& [k, v] : value.items()) {
        LETHE_CHECK(v.is_number(), where, ": parameter '", k, "' must be a number, got ", v.dump());
        c.train.objective_params[k] = v.get<double>();
      }
    } else if (key == "objective") {
      c.train.objective = str(value, key);
    } else {
      train_part[key] = value;
    }
  }
  train_options_from_json(train_part, c.train, where);
}

void check_unlearn_config(const UnlearnConfig& c) {
  const auto& spec = objectives::find_objective(c.train.objective);
  const auto params = objectives::resolve_params(spec, c.train.objective_params);
  if (spec.check) spec.check(params);
  if (c.parameters != "lora" && c.parameters != "full")
    throw UsageError("unlearn: unknown parameters '" + c.parameters + "' (valid: lora, full)");
  if (c.parameters == "full") {
    if (spec.negates_adapter)
      throw UsageError("unlearn: method '" + spec.name +
                       "' negates a LoRA adapter and cannot run with parameters full (use lora)");
    if (c.train.reference == ReferenceModel::adapter_disabled)
      throw UsageError(
          "unlearn: reference adapter_disabled needs the LoRA adapter, which parameters full "
          "merges into the weights; use reference initial (the fine-tuned model)");
    if (c.dtype != "float32")
      throw UsageError("unlearn: parameters full trains float32 weights (dtype '" + c.dtype +
                       "' is not supported; use float32, or autocast bfloat16 for the forward)");
  }
  if (c.train.eval_every > 0 && spec.negates_adapter)
    throw UsageError("unlearn: --eval-every: method '" + spec.name +
                     "' trains a forget adapter that is negated only at export, so it cannot be "
                     "evaluated during training");
  if (!c.train.stop_when.empty()) {
    const auto criterion = StopCriterion::parse(c.train.stop_when, training_eval_keys());
    for (const auto& key : criterion.keys())
      if (key.rfind("retain_", 0) == 0 && c.retain.empty())
        throw UsageError("unlearn: --stop-when reads '" + key +
                         "', which needs a retain set: give --retain sr.jsonl");
  }
  LETHE_CHECK(!c.model.empty(), "unlearn: no model given (--model)");
  LETHE_CHECK(!c.adapter.empty(), "unlearn: no fine-tuned adapter given (--adapter)");
  LETHE_CHECK(!c.forget.empty(), "unlearn: no forget set given (--forget sf.jsonl)");
  LETHE_CHECK(!c.out.empty(), "unlearn: no output folder given (--out)");
  if (objectives::requires_retain(spec, params) && c.retain.empty()) {
    std::string hint = spec.retain_weight_param.empty()
                           ? ""
                           : " (or set --param " + spec.retain_weight_param + "=0)";
    throw UsageError("unlearn: method '" + spec.name +
                     "' needs a retain set: give --retain sr.jsonl" + hint);
  }
  LETHE_CHECK(fs::is_regular_file(fs::path(c.adapter) / "adapter_config.json"),
              "unlearn: ", c.adapter, " is not a PEFT adapter folder (no adapter_config.json)");
  LETHE_CHECK(fs::is_regular_file(c.forget), "unlearn: forget set ", c.forget, " does not exist");
  LETHE_CHECK(c.retain.empty() || fs::is_regular_file(c.retain), "unlearn: retain set ", c.retain,
              " does not exist");
  // Empty sets, before the model loads (the records themselves are validated when rendered).
  auto count_records = [](const std::string& path) {
    size_t n = 0;
    core::for_each_jsonl(path, [&n](const json&, size_t) { ++n; });
    return n;
  };
  LETHE_CHECK(count_records(c.forget) > 0, "unlearn: the forget set ", c.forget,
              " is empty (no records)");
  LETHE_CHECK(!objectives::requires_retain(spec, params) || count_records(c.retain) > 0,
              "unlearn: the retain set ", c.retain, " is empty (no records), but method '",
              spec.name, "' trains on it");
}

TrainData load_unlearn_data(const text::Tokenizer& tokenizer, const UnlearnConfig& c) {
  const auto& spec = objectives::find_objective(c.train.objective);
  const auto params = objectives::resolve_params(spec, c.train.objective_params);
  TrainData data;
  data.pad_id = tokenizer.pad_id().value_or(tokenizer.eos_id().value_or(0));
  for (const auto& r : data::read_qa_records(c.forget)) {
    data.forget.push_back(
        data::qa_example(tokenizer, r.question, r.answer, c.max_length, c.system_prompt));
    if (spec.needs_preferred) {
      const std::string key = r.id.empty() ? r.question : r.id;
      data.preferred.push_back(data::qa_example(tokenizer, r.question,
                                                objectives::refusal_for(key, c.refusal_seed),
                                                c.max_length, c.system_prompt));
    }
  }
  if (objectives::requires_retain(spec, params)) {
    for (const auto& r : data::read_qa_records(c.retain))
      data.retain.push_back(
          data::qa_example(tokenizer, r.question, r.answer, c.max_length, c.system_prompt));
  }
  return data;
}

namespace {

// The adapter attached to `model` as an in-memory PEFT adapter.
io::Adapter adapter_of(model::CausalLM& model, const std::string& base_model_name) {
  const auto lora = model::lora_config(model);
  io::Adapter adapter;
  adapter.config.base_model_name_or_path = base_model_name;
  adapter.config.r = lora.r;
  adapter.config.lora_alpha = lora.lora_alpha;
  adapter.config.lora_dropout = lora.lora_dropout;
  adapter.config.target_modules = lora.target_modules;
  adapter.config.use_rslora = lora.use_rslora;
  for (const auto& [name, tensor] : model::lora_parameters(model)) {
    const auto dot = name.rfind('.');
    const std::string prefix = name.substr(0, dot), part = name.substr(dot + 1);
    auto& weights = adapter.modules[prefix];
    (part == "lora_A" ? weights.lora_A : weights.lora_B) = tensor.detach().to(torch::kCPU).clone();
  }
  return adapter;
}

}  // namespace

TrainResult unlearn_model(model::CausalLM& model, const TrainData& data,
                          const TrainOptions& options, const std::string& base_model_name,
                          const fs::path& out, bool resume, ProcessGroup* group,
                          StepEvaluator evaluate) {
  const auto& spec = objectives::find_objective(options.objective);
  LETHE_CHECK(model::has_lora(model), "unlearn: the model carries no fine-tuned adapter");
  LETHE_CHECK(!data.forget.empty(), "unlearn: the forget set is empty");
  LETHE_CHECK(!(evaluate && spec.negates_adapter), "unlearn: method '", spec.name,
              "' cannot be evaluated during training (its adapter is negated only at export)");
  TrainOptions run_options = options;
  if (run_options.label == "train") run_options.label = "unlearn " + spec.name;
  TrainTarget target;
  target.evaluate = std::move(evaluate);
  if (!spec.negates_adapter) {
    target.params = model::lora_parameters(model);
    target.save_model = [&model, base_model_name](const fs::path& dir) {
      model::save_adapter(model, dir, base_model_name);
    };
    return train(model, target, data, run_options, out, resume, group);
  }
  // task_vector (Ilharco et al. 2023): a fresh LoRA of the fine-tuned adapter's shape learns the
  // forget set alone; every export is finetuned - alpha * forget.
  const double alpha = objectives::resolve_params(spec, options.objective_params).at("alpha");
  auto finetuned = std::make_shared<io::Adapter>(adapter_of(model, base_model_name));
  const auto lora = model::lora_config(model);
  const auto adapter_dtype = model::lora_parameters(model).front().second.scalar_type();
  model::detach_lora(model);
  model::attach_lora(model, lora, options.seed, adapter_dtype);
  target.params = model::lora_parameters(model);
  target.save_model = [&model, base_model_name, finetuned, alpha](const fs::path& dir) {
    io::save_adapter(dir / "forget_adapter", adapter_of(model, base_model_name));
    io::save_adapter(
        dir, objectives::negate_task_vector(*finetuned, adapter_of(model, base_model_name), alpha));
  };
  return train(model, target, data, run_options, out, resume, group);
}

namespace {

// The tokenizer files HF's save_pretrained writes (whichever the base model folder has).
void copy_tokenizer_files(const fs::path& from, const fs::path& to) {
  for (const char* name :
       {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
        "vocab.json", "merges.txt", "chat_template.jinja"}) {
    if (fs::is_regular_file(from / name))
      core::write_file_atomic(to / name, core::read_file(from / name));
  }
}

}  // namespace

TrainResult unlearn_model_full(model::CausalLM& model, const TrainData& data,
                               const TrainOptions& options, const fs::path& base_model_dir,
                               const fs::path& out, bool resume, ProcessGroup* group,
                               StepEvaluator evaluate) {
  const auto& spec = objectives::find_objective(options.objective);
  LETHE_CHECK(model::has_lora(model), "unlearn: the model carries no fine-tuned adapter");
  LETHE_CHECK(!spec.negates_adapter, "unlearn: method '", spec.name,
              "' negates a LoRA adapter and cannot run with parameters full");
  LETHE_CHECK(options.reference != ReferenceModel::adapter_disabled,
              "unlearn: reference adapter_disabled needs the LoRA adapter, which parameters full "
              "merges into the weights");
  LETHE_CHECK(!data.forget.empty(), "unlearn: the forget set is empty");
  for (const auto& p : model->named_parameters())
    LETHE_CHECK(
        p.key().find("lora_") != std::string::npos || p.value().scalar_type() == torch::kFloat32,
        "unlearn: parameters full trains float32 weights, but ", p.key(), " is ",
        c10::toString(p.value().scalar_type()));
  json generation_config = nullptr;
  if (fs::is_regular_file(base_model_dir / "generation_config.json"))
    generation_config = core::read_json(base_model_dir / "generation_config.json");

  model::merge_and_unload_lora(model);
  TrainOptions run_options = options;
  if (run_options.label == "train") run_options.label = "unlearn " + spec.name + " (full)";
  TrainTarget target;
  for (auto& p : model->named_parameters()) {
    p.value().set_requires_grad(true);
    target.params.emplace_back(p.key(), p.value());
  }
  target.evaluate = std::move(evaluate);
  target.save_model = [&model, generation_config, base_model_dir](const fs::path& dir) {
    model::save_pretrained(model, dir, generation_config);
    copy_tokenizer_files(base_model_dir, dir);
  };
  return train(model, target, data, run_options, out, resume, group);
}

TrainResult run_unlearn(const UnlearnConfig& config, bool resume, ProcessGroup* group) {
  check_unlearn_config(config);
  const fs::path out = config.out;
  LETHE_CHECK(resume || !has_training_run(out), out.string(),
              " already holds a training run (metrics.jsonl or checkpoints/); use --resume to "
              "continue it or choose another output folder");
  LETHE_CHECK(config.train.eval_every == 0 || !group || group->world_size() <= 1,
              "unlearn: --eval-every / --stop-when are not supported in data-parallel runs (",
              group ? group->world_size() : 1, " processes); run it in one process");
  const auto device = core::parse_device(config.device);
  const auto dtype = core::parse_dtype(config.dtype, device);
  const fs::path model_dir = io::resolve_model_path(config.model);
  const text::Tokenizer tokenizer = text::Tokenizer::load(model_dir);
  TrainData data = load_unlearn_data(tokenizer, config);

  const bool full = config.parameters == "full";
  if (full) {
    // float32 weights, gradients and the two AdamW moments; RMU also keeps its initial weights.
    const auto& spec = objectives::find_objective(config.train.objective);
    const bool initial_copy =
        spec.needs_hidden_states && config.train.reference == ReferenceModel::initial;
    model::check_model_memory(model::ModelConfig::from_file((model_dir / "config.json").string()),
                              torch::kFloat32, device, "unlearn (parameters full)",
                              initial_copy ? 5.0 : 4.0);
  }
  model::CausalLM model = model::load_causal_lm(model_dir.string(), dtype, device);
  const auto adapter_dtype =
      dtype == torch::kFloat32 ? std::nullopt : std::optional<torch::ScalarType>(torch::kFloat32);
  model::load_adapter(model, config.adapter, adapter_dtype);
  if (!group || group->rank() == 0) {
    fs::create_directories(out);
    write_config_file(out / "config.yaml", unlearn_config_to_json(config));
  }
  StepEvaluator evaluate;
  if (config.train.eval_every > 0) {
    std::vector<int64_t> eos = model::declared_eos_token_ids(model_dir, model->config());
    if (auto id = tokenizer.eos_id()) eos.push_back(*id);
    evaluate = qa_step_evaluator(model, tokenizer, eos, data::read_qa_records(config.forget),
                                 config.retain.empty() ? std::vector<data::QaRecord>{}
                                                       : data::read_qa_records(config.retain),
                                 config.train.eval_limit, config.train.eval_max_new_tokens,
                                 config.system_prompt);
  }
  const TrainResult result =
      full ? unlearn_model_full(model, data, config.train, model_dir, out, resume, group, evaluate)
           : unlearn_model(model, data, config.train, config.model, out, resume, group, evaluate);
  if (config.train.eval_every > 0 && (!group || group->rank() == 0))
    core::write_json(out / "unlearn_result.json", unlearn_result_json(config, result));
  return result;
}

json unlearn_result_json(const UnlearnConfig& config, const TrainResult& result) {
  json last_eval = json::object();
  for (const auto& [key, value] : result.last_eval) last_eval[key] = value;
  return {
      {"method", config.train.objective},
      {"steps", result.steps},
      {"total_steps", result.total_steps},
      {"final_loss", result.final_loss},
      {"seconds", result.seconds},
      {"completed", result.completed},
      {"eval_every", config.train.eval_every},
      {"stop_when", config.train.stop_when.empty() ? json(nullptr) : json(config.train.stop_when)},
      {"stop_step", result.stop_step ? json(*result.stop_step) : json(nullptr)},
      {"last_eval", last_eval}};
}

}  // namespace lethe::train
