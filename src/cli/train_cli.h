// Command-line options that override a YAML config (finetune, pretrain): each option writes its
// JSON key only when given, so the precedence is defaults < --config file < command line.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/config_file.h"

namespace lethe::cli {

class ConfigOverrides {
 public:
  enum class Kind { string, number, integer, flag, int_list, string_list };

  // Adds --name bound to a string holding the default's text; `key` may be "lora.r" (nested).
  void add(CLI::App& app, const std::string& name, const std::string& key, Kind kind,
           const nlohmann::json& default_value, const std::string& help) {
    entries_.push_back(
        {key, kind, nullptr, std::make_unique<std::string>(text_of(default_value)),
         std::make_unique<bool>(default_value.is_boolean() && default_value.get<bool>())});
    auto& e = entries_.back();
    if (kind == Kind::flag) {
      e.option = app.add_flag(name, *e.flag, help)->capture_default_str();
    } else {
      const char* type = kind == Kind::number    ? "FLOAT"
                         : kind == Kind::integer ? "INT"
                         : kind == Kind::string  ? "TEXT"
                                                 : "LIST";
      e.option = app.add_option(name, *e.text, help)->capture_default_str()->type_name(type);
    }
  }

  // The resolved config: the YAML/JSON file (if any) with the given options applied on top.
  nlohmann::json resolve(const std::string& config_file) const {
    nlohmann::json config =
        config_file.empty() ? nlohmann::json::object() : train::read_config_file(config_file);
    apply(config);
    return config;
  }

  // Applies the given options onto `config`; throws CLI::ValidationError-like lethe errors via
  // json.
  void apply(nlohmann::json& config) const {
    for (const auto& e : entries_) {
      if (e.option->count() == 0) continue;
      nlohmann::json value = convert(e, e.option->get_name());
      const auto dot = e.key.find('.');
      if (dot == std::string::npos) {
        config[e.key] = value;
      } else {
        config[e.key.substr(0, dot)][e.key.substr(dot + 1)] = value;
      }
    }
  }

 private:
  struct Entry {
    std::string key;
    Kind kind;
    CLI::Option* option;
    std::unique_ptr<std::string> text;
    std::unique_ptr<bool> flag;
  };

  static std::string text_of(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null()) return "";
    if (v.is_array()) {
      std::string out;
      for (const auto& item : v) out += (out.empty() ? "" : ",") + text_of(item);
      return out;
    }
    return v.dump();
  }

  static std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = std::min(list.find(',', start), list.size());
      if (comma > start) parts.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
    return parts;
  }

  static nlohmann::json number(const std::string& text, const std::string& name, bool integer) {
    char* end = nullptr;
    if (integer) {
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0')
        throw CLI::ValidationError(name, "'" + text + "' is not an integer");
      return v;
    }
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0')
      throw CLI::ValidationError(name, "'" + text + "' is not a number");
    return v;
  }

  static nlohmann::json convert(const Entry& e, const std::string& name) {
    switch (e.kind) {
      case Kind::string:
        return *e.text;
      case Kind::number:
        return number(*e.text, name, false);
      case Kind::integer:
        return number(*e.text, name, true);
      case Kind::flag:
        return *e.flag;
      case Kind::int_list: {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& part : split(*e.text)) list.push_back(number(part, name, true));
        return list;
      }
      case Kind::string_list: {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& part : split(*e.text)) list.push_back(part);
        return list;
      }
    }
    return nullptr;
  }

  std::vector<Entry> entries_;
};

// The training-loop options every training command shares (finetune, unlearn, pretrain), bound to
// the config keys of their configs (train/config_file.h); the help of --epochs and --batch-size is
// the command's.
inline void add_loop_options(CLI::App& cmd, ConfigOverrides& o, const nlohmann::json& defaults,
                             const std::string& epochs_help, const std::string& batch_help) {
  using K = ConfigOverrides::Kind;
  o.add(cmd, "--epochs", "epochs", K::integer, defaults["epochs"], epochs_help);
  o.add(cmd, "--max-steps", "max_steps", K::integer, defaults["max_steps"],
        "> 0: stop after N optimizer steps");
  o.add(cmd, "--batch-size", "batch_size", K::integer, defaults["batch_size"], batch_help);
  o.add(cmd, "--grad-accum", "grad_accum", K::integer, defaults["grad_accum"],
        "micro-batches per step");
  o.add(cmd, "--lr", "learning_rate", K::number, defaults["learning_rate"], "peak learning rate");
  o.add(cmd, "--lr-scheduler", "lr_scheduler", K::string, defaults["lr_scheduler"],
        "constant | linear | cosine");
}

}  // namespace lethe::cli
