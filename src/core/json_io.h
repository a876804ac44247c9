// JSON and JSONL files: parse errors name the file (and line), writes are atomic.
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lethe::core {

using json = nlohmann::json;

// Parses a JSON file; throws "PATH: invalid JSON: ..." on failure.
json read_json(const std::filesystem::path& path);

// Parses a JSONL file (blank lines skipped); throws "PATH:LINE: ..." on a malformed line.
std::vector<json> read_jsonl(const std::filesystem::path& path);

// Calls `on_record(record, line_number)` for each non-blank line; errors name PATH:LINE.
void for_each_jsonl(const std::filesystem::path& path,
                    const std::function<void(const json&, size_t)>& on_record);

// Writes JSON (indented by 2) / JSONL atomically.
void write_json(const std::filesystem::path& path, const json& value);
void write_jsonl(const std::filesystem::path& path, const std::vector<json>& records);

// Typed field access with an error that names the source and field:
// "sf.jsonl:12: field 'answer' missing" or "... must be a string".
const json& require_field(const json& record, const std::string& field, const std::string& where);
std::string require_string(const json& record, const std::string& field, const std::string& where);

}  // namespace lethe::core
