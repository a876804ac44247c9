// YAML (or JSON) config files as JSON values, and resolved configs written back as YAML: the format
// of `--config FILE.yaml` and of the config.yaml saved next to every result.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>

namespace lethe::train {

// Parses a YAML file (JSON is YAML) into JSON: mappings -> objects, sequences -> arrays, plain
// scalars
// -> integer / float / bool / null when they read as one, else strings. Throws lethe::Error
// "PATH:LINE: ..." on a syntax error and when the top level is not a mapping.
nlohmann::json read_config_file(const std::filesystem::path& path);

// YAML text of a JSON value (block style, keys in the object's order).
std::string to_yaml(const nlohmann::json& value);

// Writes to_yaml(value) atomically.
void write_config_file(const std::filesystem::path& path, const nlohmann::json& value);

}  // namespace lethe::train
