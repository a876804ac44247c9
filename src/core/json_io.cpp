// JSON/JSONL reading with file:line errors and atomic writing.
#include "core/json_io.h"

#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lethe::core {

json read_json(const std::filesystem::path& path) {
  std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    LETHE_FAIL(path.string(), ": invalid JSON: ", e.what());
  }
}

void for_each_jsonl(const std::filesystem::path& path,
                    const std::function<void(const json&, size_t)>& on_record) {
  std::ifstream in(path);
  LETHE_CHECK(in.good(), path.string(), ": cannot open: ",
              std::filesystem::exists(path) ? "permission denied" : "no such file");
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json record;
    try {
      record = json::parse(line);
    } catch (const json::exception& e) {
      LETHE_FAIL(path.string(), ":", line_no, ": invalid JSON: ", e.what());
    }
    LETHE_CHECK(record.is_object(), path.string(), ":", line_no, ": expected a JSON object");
    try {
      on_record(record, line_no);
    } catch (const json::exception& e) {
      LETHE_FAIL(path.string(), ":", line_no, ": ", e.what());
    }
  }
}

std::vector<json> read_jsonl(const std::filesystem::path& path) {
  std::vector<json> records;
  for_each_jsonl(path, [&](const json& r, size_t) { records.push_back(r); });
  return records;
}

void write_json(const std::filesystem::path& path, const json& value) {
  write_file_atomic(path, value.dump(2) + "\n");
}

void write_jsonl(const std::filesystem::path& path, const std::vector<json>& records) {
  std::string out;
  for (const auto& r : records) {
    out += r.dump();
    out += '\n';
  }
  write_file_atomic(path, out);
}

const json& require_field(const json& record, const std::string& field, const std::string& where) {
  auto it = record.find(field);
  LETHE_CHECK(it != record.end(), where, ": field '", field, "' missing");
  return *it;
}

std::string require_string(const json& record, const std::string& field, const std::string& where) {
  const json& v = require_field(record, field, where);
  LETHE_CHECK(v.is_string(), where, ": field '", field, "' must be a string");
  return v.get<std::string>();
}

}  // namespace lethe::core
