// `lethe inspect MODEL [--adapter DIR] [--json]`: architecture, parameter count and stored dtypes
// (read from the weight files without loading them), the checkpoint's tensors against those the
// config's model holds (missing / unexpected / wrong shape: exit 1), tokenizer summary, generation
// stop ids, adapter summary.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/cmd_model_common.h"
#include "cli/commands.h"
#include "io/checkpoint.h"
#include "io/model_path.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "model/generate.h"
#include "model/model_config.h"
#include "model/weight_names.h"
#include "text/tokenizer.h"

namespace lethe::cli {

namespace {

using json = nlohmann::json;

struct InspectOptions {
  std::string model;
  std::string adapter;
  bool json_output = false;
};

json inspect(const InspectOptions& o) {
  const std::filesystem::path folder = io::resolve_model_path(o.model);
  const auto config_path = folder / "config.json";
  LETHE_CHECK(std::filesystem::exists(config_path), config_path.string(), ": file not found");
  const model::ModelConfig config = model::ModelConfig::from_file(config_path.string());
  json out;
  out["folder"] = folder.string();
  out["architecture"] = config.architectures.front();
  out["config"] = config.to_json();
  out["expected_parameters"] = config.num_parameters();

  if (io::has_safetensors_weights(folder)) {
    const io::StateDict weights = io::load_state_dict(folder);  // mmap views: nothing is read
    int64_t count = 0, bytes = 0;
    std::map<std::string, int64_t> by_dtype;
    for (const auto& [name, t] : weights) {
      count += t.numel();
      bytes += t.numel() * static_cast<int64_t>(t.element_size());
      by_dtype[core::dtype_name(t.scalar_type())] += t.numel();
    }
    out["weights"] = {
        {"tensors", weights.size()}, {"parameters", count}, {"bytes", bytes}, {"dtypes", by_dtype}};
    // The checkpoint's keys against those the config's model holds (what load_pretrained needs).
    std::map<std::string, std::vector<int64_t>> shapes;
    for (const auto& [name, t] : weights) shapes[name] = t.sizes().vec();
    const model::WeightCheck check = model::check_weight_names(config, shapes);
    out["weights"]["missing"] = check.missing;
    out["weights"]["unexpected"] = check.unexpected;
    out["weights"]["wrong_shape"] = check.wrong_shape;
  } else {
    out["weights"] = nullptr;
  }

  if (std::filesystem::exists(folder / "tokenizer.json")) {
    const text::Tokenizer tok = text::Tokenizer::load(folder);
    json added = json::array();
    for (const auto& a : tok.added_tokens())
      if (a.special) added.push_back(a.content);
    out["tokenizer"] = {{"vocab_size", tok.vocab_size()},
                        {"base_vocab_size", tok.base_vocab_size()},
                        {"special_tokens", added},
                        {"chat_template", tok.has_chat_template()}};
    if (tok.eos_id()) out["tokenizer"]["eos_token_id"] = *tok.eos_id();
    if (tok.pad_id()) out["tokenizer"]["pad_token_id"] = *tok.pad_id();
  } else {
    out["tokenizer"] = nullptr;
  }
  out["generation_eos_token_ids"] = model::declared_eos_token_ids(folder, config);

  if (!o.adapter.empty()) {
    const io::Adapter adapter = io::load_adapter(o.adapter);
    int64_t count = 0;
    for (const auto& [name, w] : adapter.modules) count += w.lora_A.numel() + w.lora_B.numel();
    out["adapter"] = {{"folder", o.adapter},
                      {"r", adapter.config.r},
                      {"lora_alpha", adapter.config.lora_alpha},
                      {"scaling", adapter.config.scaling()},
                      {"target_modules", adapter.config.target_modules},
                      {"modules", adapter.modules.size()},
                      {"parameters", count},
                      {"base_model_name_or_path", adapter.config.base_model_name_or_path}};
  }
  return out;
}

std::string human_count(int64_t n) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2);
  if (n >= 1000000000)
    s << n / 1e9 << "B";
  else if (n >= 1000000)
    s << n / 1e6 << "M";
  else if (n >= 1000)
    s << n / 1e3 << "K";
  else
    s << n;
  return s.str();
}

void print_human(const json& info) {
  const json& c = info["config"];
  std::cout << "model        " << info["folder"].get<std::string>() << "\n"
            << "architecture " << info["architecture"].get<std::string>() << " ("
            << c["model_type"].get<std::string>() << ")\n"
            << "layers       " << c["num_hidden_layers"] << ", hidden " << c["hidden_size"]
            << ", intermediate " << c["intermediate_size"] << ", heads " << c["num_attention_heads"]
            << " (kv " << c["num_key_value_heads"] << ")\n"
            << "vocab        " << c["vocab_size"] << ", max positions "
            << c["max_position_embeddings"] << ", rope_theta " << c["rope_theta"]
            << (c["rope_scaling"].is_null() ? "" : ", rope_scaling " + c["rope_scaling"].dump())
            << ", tied embeddings " << (c["tie_word_embeddings"].get<bool>() ? "yes" : "no")
            << "\n";
  if (info["weights"].is_null()) {
    std::cout << "weights      none found\n";
  } else {
    const json& w = info["weights"];
    std::cout << "parameters   " << human_count(w["parameters"].get<int64_t>()) << " ("
              << w["parameters"] << " in " << w["tensors"] << " tensors, "
              << human_count(w["bytes"].get<int64_t>()) << "B stored; dtypes " << w["dtypes"].dump()
              << "; config torch_dtype " << c["torch_dtype"].get<std::string>() << ")\n";
    for (const char* kind : {"missing", "unexpected", "wrong_shape"})
      for (const auto& name : w[kind])
        std::cout << "  " << (std::string(kind) == "wrong_shape" ? "wrong shape" : kind) << "  "
                  << name.get<std::string>() << "\n";
  }
  if (info["tokenizer"].is_null()) {
    std::cout << "tokenizer    none (commands need token ids)\n";
  } else {
    const json& t = info["tokenizer"];
    std::cout << "tokenizer    vocab " << t["vocab_size"] << " (" << t["base_vocab_size"]
              << " BPE + added), " << t["special_tokens"].size()
              << " special tokens, chat template "
              << (t["chat_template"].get<bool>() ? "yes" : "no") << "\n";
  }
  std::cout << "stop ids     " << info["generation_eos_token_ids"].dump() << "\n";
  if (info.contains("adapter")) {
    const json& a = info["adapter"];
    std::cout << "adapter      " << a["folder"].get<std::string>() << ": LoRA r " << a["r"]
              << ", alpha " << a["lora_alpha"] << ", " << a["modules"] << " modules "
              << a["target_modules"].dump() << ", " << human_count(a["parameters"].get<int64_t>())
              << " parameters\n";
  }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "inspect", "architecture, parameter count, dtypes and tokenizer of a model");
  cmd->add_option("model", o->model, "model folder or Hugging Face model id (local cache)")
      ->required();
  cmd->add_option("--adapter", o->adapter, "also summarise this PEFT LoRA adapter folder")
      ->capture_default_str();
  cmd->add_flag("--json", o->json_output, "print JSON instead of text");
  cmd->callback([o]() {
    apply_global_options();
    const json info = inspect(*o);
    if (o->json_output) {
      std::cout << info.dump(2) << std::endl;
    } else {
      print_human(info);
    }
    std::cout.flush();
    // A checkpoint that does not match its config cannot be loaded (model::load_weights rejects
    // it): say so after the listing, with a non-zero exit.
    if (info["weights"].is_object()) {
      const json& w = info["weights"];
      const size_t missing = w["missing"].size(), unexpected = w["unexpected"].size(),
                   wrong = w["wrong_shape"].size();
      if (missing + unexpected + wrong > 0) {
        std::string what;
        auto add = [&what](size_t n, const char* label, const json& names) {
          if (n == 0) return;
          what += (what.empty() ? "" : "; ") + std::to_string(n) + " " + label + " (" +
                  names[0].get<std::string>() + (n > 1 ? ", ..." : "") + ")";
        };
        add(missing, missing == 1 ? "missing tensor" : "missing tensors", w["missing"]);
        add(unexpected, unexpected == 1 ? "unexpected tensor" : "unexpected tensors",
            w["unexpected"]);
        add(wrong, wrong == 1 ? "tensor of the wrong shape" : "tensors of the wrong shape",
            w["wrong_shape"]);
        LETHE_FAIL(info["folder"].get<std::string>(),
                   ": the weights do not match config.json, lethe cannot load them: ", what);
      }
    }
  });
}

}  // namespace lethe::cli
