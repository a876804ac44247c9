// YAML config files <-> JSON values (yaml-cpp).
#include "train/config_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "core/atomic_file.h"
#include "core/error.h"
#include "text/byte_level.h"

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

// Limits against hostile files: aliases can make a small file expand into a huge (or, through an
// alias to an enclosing node, endless) tree.
constexpr int kMaxDepth = 64;
constexpr int64_t kMaxNodes = 100'000;

// `path` is the node's dotted key path ("" for the root).
json node_to_json(const YAML::Node& node, const std::string& file, const std::string& path,
                  int depth, int64_t* nodes, KeyLines* lines) {
  const auto where = [&](const YAML::Node& n) {
    return file + ":" + std::to_string(n.Mark().line + 1);
  };
  LETHE_CHECK(depth <= kMaxDepth, where(node), ": nested more than ", kMaxDepth, " levels deep");
  LETHE_CHECK(++*nodes <= kMaxNodes, file, ": more than ", kMaxNodes,
              " values (aliases expanding without end?)");
  const auto child = [&](const std::string& key) { return path.empty() ? key : path + "." + key; };
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json object = json::object();
      std::map<std::string, int> first_line;
      for (const auto& item : node) {
        LETHE_CHECK(item.first.IsScalar(), where(item.first),
                    ": a key must be a plain string, not a list or mapping");
        const std::string& key = item.first.Scalar();
        const int line = item.first.Mark().line + 1;
        const auto [seen, fresh] = first_line.emplace(key, line);
        LETHE_CHECK(fresh, where(item.first), ": ", child(key),
                    ": duplicate key (first given at line ", seen->second, ")");
        if (lines) (*lines)[child(key)] = line;
        object[key] = node_to_json(item.second, file, child(key), depth + 1, nodes, lines);
      }
      return object;
    }
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const auto& item : node) {
        const std::string key = child(std::to_string(array.size()));
        if (lines) (*lines)[key] = item.Mark().line + 1;
        array.push_back(node_to_json(item, file, key, depth + 1, nodes, lines));
      }
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

json read_config_file(const std::filesystem::path& path, KeyLines* lines) {
  // Line breaks as YAML defines them: CRLF, or a lone CR, is one break. yaml-cpp kept a lone CR
  // inside a plain scalar ("cpu\r \r" read back as "cpu\r": a fuzz finding), so normalise first.
  std::string text = core::read_file(path);
  {
    std::string lf;
    lf.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] != '\r') {
        lf += text[i];
      } else if (i + 1 == text.size() || text[i + 1] != '\n') {
        lf += '\n';
      }
    }
    text.swap(lf);
  }
  // yaml-cpp passes ill-formed UTF-8 through; it would only fail later, when written as JSON.
  const size_t bad = text::find_invalid_utf8(text);
  LETHE_CHECK(bad == std::string::npos, path.string(), ":",
              1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n'),
              ": not valid UTF-8 (config files are UTF-8 text)");
  // YAML allows no control characters but tab and line breaks (c-printable); yaml-cpp would pass
  // some through and mangle others (a NUL came back as a different string).
  const auto control = std::find_if(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t' && c != '\n') || u == 0x7f;
  });
  LETHE_CHECK(control == text.end(), path.string(), ":",
              1 + std::count(text.begin(), control, '\n'), ": control character 0x", std::hex,
              static_cast<int>(static_cast<unsigned char>(*control)),
              " is not allowed in a config file");
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    LETHE_FAIL(path.string(), ":", e.mark.line + 1, ": invalid YAML: ", e.msg);
  }
  LETHE_CHECK(root.IsMap(), path.string(), ": a config file must be a mapping of option: value");
  int64_t nodes = 0;
  if (lines) lines->clear();
  return node_to_json(root, path.string(), "", 0, &nodes, lines);
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
