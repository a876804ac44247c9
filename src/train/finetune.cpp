// `lethe finetune` as a library call: load, render QA with the chat template, attach LoRA, train,
// save.
#include "train/finetune.h"

#include "core/error.h"
#include "core/runtime.h"
#include "data/batching.h"
#include "io/model_path.h"
#include "text/tokenizer.h"
#include "train/config_file.h"
#include "train/distributed.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

json finetune_config_to_json(const FinetuneConfig& c) {
  json j;
  j["model"] = c.model;
  j["data"] = c.data;
  j["out"] = c.out;
  j["retain_only"] = c.retain_only;
  j["dtype"] = c.dtype;
  j["device"] = c.device;
  j["max_length"] = c.max_length;
  j["system_prompt"] = c.system_prompt ? json(*c.system_prompt) : json(nullptr);
  j["lora"] = {{"r", c.lora.r},
               {"lora_alpha", c.lora.lora_alpha},
               {"lora_dropout", c.lora.lora_dropout},
               {"target_modules", c.lora.target_modules},
               {"use_rslora", c.lora.use_rslora}};
  const json train_part = train_options_to_json(c.train);
  for (const auto& [key, value] : train_part.items()) j[key] = value;
  return j;
}

void finetune_config_from_json(const json& j, FinetuneConfig& c, const std::string& where) {
  LETHE_CHECK(j.is_object(), where, ": the config must be a mapping");
  json train_part = json::object();
  auto str = [&](const json& v, const std::string& key) {
    LETHE_CHECK(v.is_string(), where, ": '", key, "' must be a string, got ", v.dump());
    return v.get<std::string>();
  };
  for (const auto& [key, value] : j.items()) {
    if (key == "model")
      c.model = str(value, key);
    else if (key == "out")
      c.out = str(value, key);
    else if (key == "dtype")
      c.dtype = str(value, key);
    else if (key == "device")
      c.device = str(value, key);
    else if (key == "data") {
      c.data.clear();
      if (value.is_string()) {
        std::string list = value.get<std::string>();
        for (size_t start = 0; start <= list.size();) {
          const size_t comma = std::min(list.find(',', start), list.size());
          if (comma > start) c.data.push_back(list.substr(start, comma - start));
          start = comma + 1;
        }
      } else {
        LETHE_CHECK(value.is_array(), where, ": 'data' must be a list of JSONL files");
        for (const auto& item : value) c.data.push_back(str(item, key));
      }
    } else if (key == "retain_only") {
      LETHE_CHECK(value.is_boolean(), where, ": 'retain_only' must be true or false");
      c.retain_only = value.get<bool>();
    } else if (key == "max_length") {
      LETHE_CHECK(value.is_number_integer() && value.get<int64_t>() > 1, where,
                  ": 'max_length' must be an integer > 1, got ", value.dump());
      c.max_length = value.get<int64_t>();
    } else if (key == "system_prompt") {
      c.system_prompt =
          value.is_null() ? std::nullopt : std::optional<std::string>(str(value, key));
    } else if (key == "lora") {
      LETHE_CHECK(value.is_object(), where, ": 'lora' must be a mapping");
      for (const auto& [k, v] : value.items()) {
        const std::string field = "lora." + k;
        if (k == "r") {
          LETHE_CHECK(v.is_number_integer() && v.get<int64_t>() > 0, where, ": '", field,
                      "' must be a positive integer, got ", v.dump());
          c.lora.r = v.get<int64_t>();
        } else if (k == "lora_alpha" || k == "lora_dropout") {
          LETHE_CHECK(v.is_number(), where, ": '", field, "' must be a number, got ", v.dump());
          (k == "lora_alpha" ? c.lora.lora_alpha : c.lora.lora_dropout) = v.get<double>();
        } else if (k == "use_rslora") {
          LETHE_CHECK(v.is_boolean(), where, ": '", field, "' must be true or false");
          c.lora.use_rslora = v.get<bool>();
        } else if (k == "target_modules") {
          c.lora.target_modules.clear();
          if (v.is_string()) {
            std::string list = v.get<std::string>();
            for (size_t start = 0; start <= list.size();) {
              const size_t comma = std::min(list.find(',', start), list.size());
              if (comma > start) c.lora.target_modules.push_back(list.substr(start, comma - start));
              start = comma + 1;
            }
          } else {
            LETHE_CHECK(v.is_array(), where, ": '", field, "' must be a list");
            for (const auto& item : v) c.lora.target_modules.push_back(str(item, field));
          }
        } else {
          LETHE_FAIL(where, ": unknown option '", field, "'");
        }
      }
      LETHE_CHECK(c.lora.lora_alpha > 0, where, ": 'lora.lora_alpha' must be positive");
      LETHE_CHECK(c.lora.lora_dropout >= 0 && c.lora.lora_dropout < 1, where,
                  ": 'lora.lora_dropout' must be in [0, 1)");
    } else {
      train_part[key] = value;
    }
  }
  train_options_from_json(train_part, c.train, where);
}

TrainResult run_finetune(const FinetuneConfig& config, bool resume, ProcessGroup* group) {
  LETHE_CHECK(!config.model.empty(), "finetune: no model given (--model)");
  LETHE_CHECK(!config.data.empty(), "finetune: no data given (--data sf.jsonl,sr.jsonl)");
  LETHE_CHECK(!config.out.empty(), "finetune: no output folder given (--out)");
  // An unknown objective or parameter fails here, before the model loads (UsageError listing the
  // valid ones).
  objectives::resolve_params(objectives::find_objective(config.train.objective),
                             config.train.objective_params);
  const fs::path out = config.out;
  LETHE_CHECK(resume || !has_training_run(out), out.string(),
              " already holds a training run (metrics.jsonl or checkpoints/); use --resume to "
              "continue it or choose another output folder");
  const auto device = core::parse_device(config.device);
  const auto dtype = core::parse_dtype(config.dtype, device);
  const fs::path model_dir = io::resolve_model_path(config.model);
  const text::Tokenizer tokenizer = text::Tokenizer::load(model_dir);

  TrainData data;
  data.pad_id = tokenizer.pad_id().value_or(tokenizer.eos_id().value_or(0));
  int64_t dropped = 0;
  for (const auto& file : config.data) {
    for (const auto& record : data::read_qa_records(file)) {
      if (config.retain_only && record.subset == "forget") {
        ++dropped;
        continue;
      }
      data.forget.push_back(data::qa_example(tokenizer, record.question, record.answer,
                                             config.max_length, config.system_prompt));
    }
  }
  LETHE_CHECK(!data.forget.empty(), "finetune: no training records left",
              config.retain_only ? " after --retain-only dropped the forget set" : "");
  LETHE_CHECK(!config.retain_only || dropped > 0,
              "finetune --retain-only: no record has subset \"forget\" in ", config.data.size(),
              " file(s); nothing would be dropped");

  model::CausalLM model = model::load_causal_lm(model_dir.string(), dtype, device);
  const auto adapter_dtype =
      dtype == torch::kFloat32 ? std::nullopt : std::optional<torch::ScalarType>(torch::kFloat32);
  model::attach_lora(model, config.lora, config.train.seed, adapter_dtype);
  if (!group || group->rank() == 0) {
    fs::create_directories(out);
    write_config_file(out / "config.yaml", finetune_config_to_json(config));
  }
  TrainTarget target;
  target.params = model::lora_parameters(model);
  const std::string base_name = config.model;
  target.save_model = [&model, base_name](const fs::path& dir) {
    model::save_adapter(model, dir, base_name);
  };
  TrainOptions options = config.train;
  if (options.label == "train") options.label = "finetune";
  return train(model, target, data, options, out, resume, group);
}

}  // namespace lethe::train
