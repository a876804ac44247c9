// Recovers a JSON value from an LLM's text reply when the server ignored response_format: the whole
// text, else the first balanced {...} or [...] (inside ``` fences or prose). No repair of broken
// JSON.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lethe::datagen {

// The first JSON object or array found in `text`; nullopt when there is none (e.g. truncated
// output).
std::optional<nlohmann::json> extract_json(const std::string& text);

}  // namespace lethe::datagen
