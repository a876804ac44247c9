// `lethe pretrain` as a library call: BPE tokenizer, a fresh Qwen2 model, full-parameter training.
#include "train/pretrain.h"

#include "core/error.h"
#include "core/runtime.h"
#include "data/batching.h"
#include "data/dataset.h"
#include "model/causal_lm.h"
#include "model/pretrained.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"
#include "train/config_file.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

PretrainConfig::PretrainConfig() {
  train.schedule.lr = 1e-3;
  train.schedule.kind = ScheduleKind::cosine;
  train.schedule.warmup_ratio = 0.02;
  train.schedule.min_lr_ratio = 0.1;
  train.adamw.weight_decay = 0.1;
  train.adamw.beta2 = 0.95;
  train.batch_size = 16;
  train.epochs = 10;
  train.label = "pretrain";
}

json pretrain_config_to_json(const PretrainConfig& c) {
  json j;
  j["corpus"] = c.corpus;
  j["out"] = c.out;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["intermediate_size"] = c.intermediate_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rope_theta"] = c.rope_theta;
  j["max_length"] = c.max_length;
  j["device"] = c.device;
  j["save_dtype"] = c.save_dtype;
  const json train_part = train_options_to_json(c.train);
  for (const auto& [key, value] : train_part.items()) j[key] = value;
  return j;
}

void pretrain_config_from_json(const json& j, PretrainConfig& c, const std::string& where) {
  LETHE_CHECK(j.is_object(), where, ": the config must be a mapping");
  json train_part = json::object();
  auto positive = [&](const json& v, const std::string& key) {
    LETHE_CHECK(v.is_number_integer() && v.get<int64_t>() > 0, where, ": '", key,
                "' must be a positive integer, got ", v.dump());
    return v.get<int64_t>();
  };
  for (const auto& [key, value] : j.items()) {
    if (key == "corpus" || key == "out" || key == "device") {
      LETHE_CHECK(value.is_string(), where, ": '", key, "' must be a string");
      (key == "corpus" ? c.corpus : key == "out" ? c.out : c.device) = value.get<std::string>();
    } else if (key == "save_dtype") {
      // core::parse_dtype holds the one list of dtype names (aliases too); stored normalised.
      bool known = value.is_string();
      try {
        if (known) c.save_dtype = core::dtype_name(core::parse_dtype(value.get<std::string>()));
      } catch (const std::exception&) {
        known = false;
      }
      LETHE_CHECK(known, where, ": 'save_dtype' must be float32, bfloat16 or float16, got ",
                  value.dump());
    } else if (key == "vocab_size")
      c.vocab_size = positive(value, key);
    else if (key == "hidden_size")
      c.hidden_size = positive(value, key);
    else if (key == "num_hidden_layers")
      c.num_hidden_layers = positive(value, key);
    else if (key == "num_attention_heads")
      c.num_attention_heads = positive(value, key);
    else if (key == "num_key_value_heads")
      c.num_key_value_heads = positive(value, key);
    else if (key == "intermediate_size")
      c.intermediate_size = positive(value, key);
    else if (key == "max_position_embeddings")
      c.max_position_embeddings = positive(value, key);
    else if (key == "max_length")
      c.max_length = positive(value, key);
    else if (key == "rope_theta") {
      LETHE_CHECK(value.is_number() && value.get<double>() > 0, where,
                  ": 'rope_theta' must be positive");
      c.rope_theta = value.get<double>();
    } else {
      train_part[key] = value;
    }
  }
  LETHE_CHECK(c.hidden_size % c.num_attention_heads == 0, where,
              ": hidden_size must be a multiple of num_attention_heads");
  LETHE_CHECK(c.num_attention_heads % c.num_key_value_heads == 0, where,
              ": num_attention_heads must be a multiple of num_key_value_heads");
  LETHE_CHECK(c.max_length <= c.max_position_embeddings, where,
              ": max_length must be <= max_position_embeddings");
  train_options_from_json(train_part, c.train, where);
}

namespace {

// Plain text cut into pieces of at most max_length tokens, the loss on every token after the first.
void add_text_examples(const std::vector<int64_t>& ids, int64_t max_length,
                       std::vector<data::Example>& out) {
  for (size_t start = 0; start + 1 < ids.size(); start += static_cast<size_t>(max_length)) {
    const size_t end = std::min(ids.size(), start + static_cast<size_t>(max_length));
    if (end - start < 2) break;
    std::vector<int64_t> piece(ids.begin() + start, ids.begin() + end);
    out.push_back(
        data::make_example({piece.front()}, std::vector<int64_t>(piece.begin() + 1, piece.end())));
  }
}

}  // namespace

TrainResult run_pretrain(const PretrainConfig& config, bool resume) {
  LETHE_CHECK(!config.corpus.empty(), "pretrain: no corpus given (--corpus)");
  LETHE_CHECK(!config.out.empty(), "pretrain: no output folder given (--out)");
  const fs::path out = config.out;
  const c10::Device device = core::parse_device(config.device);
  LETHE_CHECK(resume || (!has_training_run(out) && !fs::exists(out / "model.safetensors")),
              out.string(),
              " already holds a model or a training run; use --resume or another --out");
  const auto docs = data::load_corpus(config.corpus);
  LETHE_CHECK(!docs.empty(), config.corpus, ": no records");

  // Tokenizer: trained on the corpus (deterministic, so a resumed run gets the same one).
  text::BpeTrainerOptions bpe_options;
  bpe_options.vocab_size = config.vocab_size;
  text::BpeTrainer bpe(bpe_options);
  for (const auto& doc : docs)
    bpe.add_text(doc.kind == data::DocKind::qa ? doc.question + "\n" + doc.answer : doc.text);
  const text::TrainedBpe trained = bpe.train();
  const text::ChatTemplate chat = text::ChatTemplate::chatml(std::nullopt);
  fs::create_directories(out);
  trained.save(out, chat, config.max_position_embeddings);
  text::Tokenizer tokenizer = text::Tokenizer::load(out);
  const int64_t eot = tokenizer.token_to_id("<|endoftext|>");
  LETHE_CHECK(eot >= 0, "pretrain: the trained tokenizer has no <|endoftext|>");

  TrainData data;
  data.pad_id = eot;
  for (const auto& doc : docs) {
    if (doc.kind == data::DocKind::qa) {
      data.forget.push_back(
          data::qa_example(tokenizer, doc.question, doc.answer, config.max_length));
    } else {
      auto ids = tokenizer.encode(doc.text);
      ids.push_back(eot);
      add_text_examples(ids, config.max_length, data.forget);
    }
  }

  model::ModelConfig mc;
  mc.model_type = "qwen2";
  mc.architectures = {"Qwen2ForCausalLM"};
  mc.vocab_size = tokenizer.vocab_size();
  mc.hidden_size = config.hidden_size;
  mc.intermediate_size = config.intermediate_size;
  mc.num_hidden_layers = config.num_hidden_layers;
  mc.num_attention_heads = config.num_attention_heads;
  mc.num_key_value_heads = config.num_key_value_heads;
  mc.head_dim = config.hidden_size / config.num_attention_heads;
  mc.max_position_embeddings = config.max_position_embeddings;
  mc.rope_theta = config.rope_theta;
  mc.rms_norm_eps = 1e-6;
  mc.tie_word_embeddings = true;
  mc.attention_bias = true;
  mc.eos_token_id = {tokenizer.token_to_id("<|im_end|>"), eot};
  mc.bos_token_id = eot;
  mc.torch_dtype = "float32";

  // Weights, gradients and the two AdamW moments, all float32.
  model::check_model_memory(mc, torch::kFloat32, device, "pretrain", 4.0);
  torch::manual_seed(config.train.seed);
  model::CausalLM model(mc);
  {
    // HF Qwen2 init (initializer_range 0.02): normal weights, zero biases, unit norms.
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.value().dim() >= 2)
        p.value().normal_(0.0, 0.02);
      else if (p.key().find("norm") != std::string::npos)
        p.value().fill_(1.0);
      else
        p.value().zero_();
    }
  }
  model->to(device);
  TrainTarget target;
  for (auto& p : model->named_parameters()) {
    p.value().set_requires_grad(true);
    target.params.emplace_back(p.key(), p.value());
  }
  const json model_config = mc.to_json();
  const json generation_config = {
      {"bos_token_id", model_config.value("bos_token_id", json(nullptr))},
      {"eos_token_id", model_config.value("eos_token_id", json(nullptr))},
      {"do_sample", false}};
  target.save_model = [&model, generation_config, &trained, &chat, &config](const fs::path& dir) {
    model::save_pretrained(model, dir, generation_config, core::parse_dtype(config.save_dtype));
    trained.save(dir, chat, config.max_position_embeddings);
  };
  write_config_file(out / "config.yaml", pretrain_config_to_json(config));
  return train(model, target, data, config.train, out, resume);
}

}  // namespace lethe::train
