// The `lethe run` configuration: one YAML document with a section per stage (configs/default.yaml),
// the built-in default and quick profiles, and the deep merge of a user file over them.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lethe::pipeline {

// The default profile (configs/default.yaml holds the same values).
nlohmann::json default_run_config();

// What --quick changes on top of the default profile (configs/quick.yaml = default + this).
nlohmann::json quick_overlay();

// `over` merged into `base`: objects key by key, everything else replaced.
nlohmann::json merge_config(nlohmann::json base, const nlohmann::json& over);

// Default profile, then --quick's overlay, then the file (when given). Unknown top-level keys and
// sections of the wrong type are lethe::Error naming the file and key.
nlohmann::json resolve_run_config(const std::optional<std::filesystem::path>& file, bool quick);

// Checks the section names and types; `where` names the source in errors.
void check_run_config(const nlohmann::json& config, const std::string& where);

}  // namespace lethe::pipeline
