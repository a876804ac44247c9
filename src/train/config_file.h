// YAML (or JSON) config files as JSON values, and resolved configs written back as YAML: the format
// of `--config FILE.yaml` and of the config.yaml saved next to every result.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::train {

// The 1-based line of every key of a config file by its dotted path ("unlearn.methods.npo.beta";
// list items as "quantize.schemes.0"), so that later checks can name FILE:LINE.
using KeyLines = std::map<std::string, int>;

// Parses a YAML file (JSON is YAML) into JSON: mappings -> objects, sequences -> arrays, plain
// scalars -> integer / float / bool / null when they read as one, else strings. Throws lethe::Error
// "PATH:LINE: ..." on a syntax error, a key given twice in one mapping (yaml-cpp keeps the last
// silently) and when the top level is not a mapping. `lines`, when given, receives every key's
// line.
nlohmann::json read_config_file(const std::filesystem::path& path, KeyLines* lines = nullptr);

// YAML text of a JSON value (block style, keys in the object's order).
std::string to_yaml(const nlohmann::json& value);

// Writes to_yaml(value) atomically.
void write_config_file(const std::filesystem::path& path, const nlohmann::json& value);

}  // namespace lethe::train
