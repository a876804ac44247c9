// YAML config files <-> JSON values (yaml-cpp).
#include "train/config_file.h"

#include <yaml-cpp/yaml.h>

#include <cmath>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lethe::train {

namespace {

using nlohmann::json;

json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  char* end = nullptr;
  errno = 0;
  const long long integer = std::strtoll(text.c_str(), &end, 10);
  if (end && *end == '\0' && errno == 0) return integer;
  const double number = std::strtod(text.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(number)) return number;
  return text;
}

json node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& item : node)
        object[item.first.as<std::string>()] = node_to_json(item.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const auto& item : node) array.push_back(node_to_json(item));
      return array;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    default:
      return nullptr;
  }
}

void emit(YAML::Emitter& out, const json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      emit(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    const bool flat =
        std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_primitive(); });
    out << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& item : value) emit(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    // Quote strings that would read back as another type.
    const json back = scalar_to_json(YAML::Node(value.get<std::string>()));
    if (back.is_string())
      out << value.get<std::string>();
    else
      out << YAML::DoubleQuoted << value.get<std::string>();
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();  // numbers and booleans in JSON spelling (1e-05, true)
  }
}

}  // namespace

json read_config_file(const std::filesystem::path& path) {
  const std::string text = core::read_file(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    LETHE_FAIL(path.string(), ":", e.mark.line + 1, ": invalid YAML: ", e.msg);
  }
  LETHE_CHECK(root.IsMap(), path.string(), ": a config file must be a mapping of option: value");
  return node_to_json(root);
}

std::string to_yaml(const json& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

void write_config_file(const std::filesystem::path& path, const json& value) {
  core::write_file_atomic(path, to_yaml(value));
}

}  // namespace lethe::train
