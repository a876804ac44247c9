// Benchmark files -> records with FILE:LINE, and the imported folder written as one.
#include "datagen/benchmark_files.h"

#include <algorithm>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/sha256.h"

namespace lethe::datagen {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

size_t line_of(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + offset, '\n'));
}

void check_fields(const BenchmarkRecord& r, const BenchmarkFile& file,
                  const std::string& benchmark) {
  if (file.required.empty()) {
    LETHE_CHECK(r.value.is_string(), r.where, ": expected a string (", benchmark, "'s ", file.name,
                " lists passages)");
    return;
  }
  LETHE_CHECK(r.value.is_object(), r.where, ": expected a JSON object");
  for (const auto& item : r.value.items()) {
    const bool known = std::count(file.required.begin(), file.required.end(), item.key()) ||
                       std::count(file.optional.begin(), file.optional.end(), item.key());
    LETHE_CHECK(known, r.where, ": unexpected field '", item.key(), "' (not in ", benchmark, "'s ",
                file.name, ")");
  }
  for (const auto& field : file.required)
    LETHE_CHECK(r.value.contains(field), r.where, ": field '", field, "' missing");
}

}  // namespace

std::vector<size_t> array_element_lines(const std::string& text) {
  std::vector<size_t> lines;
  int depth = 0;
  bool in_string = false, escaped = false, expect = false;
  size_t line = 1;
  for (char c : text) {
    if (c == '\n') ++line;
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (depth == 1 && expect && !space && c != ']') {
      lines.push_back(line);
      expect = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (depth == 0) expect = true;
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect = true;
    }
  }
  return lines;
}

std::vector<BenchmarkRecord> read_benchmark_file(const fs::path& src, const BenchmarkFile& file,
                                                 const std::string& benchmark, json& sources) {
  const fs::path path = src / file.name;
  LETHE_CHECK(fs::is_regular_file(path), path.string(), ": no such file (", benchmark, "'s ",
              file.name, " is needed)");
  const std::string text = core::read_file(path);
  std::vector<BenchmarkRecord> records;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    json all;
    try {
      all = json::parse(text);
    } catch (const json::parse_error& e) {
      LETHE_FAIL(path.string(), ":", line_of(text, e.byte == 0 ? 0 : e.byte - 1),
                 ": invalid JSON: ", e.what());
    }
    LETHE_CHECK(all.is_array(), path.string(), ":1: expected a JSON array");
    const auto lines = array_element_lines(text);
    LETHE_CHECK(lines.size() == all.size(), path.string(), ": could not locate the array's ",
                all.size(), " elements");
    for (size_t i = 0; i < all.size(); ++i)
      records.push_back({path.string() + ":" + std::to_string(lines[i]), std::move(all[i])});
  } else {
    size_t begin = 0, line_no = 0;
    while (begin < text.size()) {
      size_t end = text.find('\n', begin);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(begin, end - begin);
      begin = end + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      BenchmarkRecord r{path.string() + ":" + std::to_string(line_no), json()};
      try {
        r.value = json::parse(line);
      } catch (const json::exception& e) {
        LETHE_FAIL(r.where, ": invalid JSON: ", e.what());
      }
      records.push_back(std::move(r));
    }
  }
  for (const auto& r : records) check_fields(r, file, benchmark);
  sources[file.name] = {
      {"sha256", core::sha256_hex(text)}, {"bytes", text.size()}, {"records", records.size()}};
  return records;
}

std::string text_field(const BenchmarkRecord& record, const std::string& field) {
  const json& v = field.empty() ? record.value : record.value.at(field);
  const std::string name = field.empty() ? "the passage" : "field '" + field + "'";
  LETHE_CHECK(
      v.is_string() && v.get<std::string>().find_first_not_of(" \t\r\n") != std::string::npos,
      record.where, ": ", name, " must be a non-empty string");
  return v.get<std::string>();
}

data::QAPair imported_qa(const std::string& id, const std::string& person_id, data::Subset subset,
                         const std::string& question, const std::string& answer) {
  data::QAPair q;
  q.id = id;
  q.person_id = person_id;
  q.fact_id = "f_" + id;
  q.subset = subset;
  q.question = question;
  q.answer = answer;
  return q;
}

json write_imported_folder(const data::Dataset& d,
                           const std::vector<std::pair<std::string, std::string>>& extra,
                           json manifest) {
  std::error_code ec;
  fs::create_directories(d.dir, ec);
  LETHE_CHECK(!ec, d.dir.string(), ": cannot create folder: ", ec.message());
  core::StagedFiles staged;
  json files = json::object();
  json counts = json::object();
  const auto stage = [&](const std::string& name, const std::string& text, size_t records) {
    staged.add(d.dir / name, text);
    files[name] = {
        {"records", records}, {"bytes", text.size()}, {"sha256", core::sha256_hex(text)}};
    counts[name] = records;
  };
  stage(data::files::profiles, data::records_jsonl(d.profiles), d.profiles.size());
  stage(data::files::facts, data::records_jsonl(d.facts), d.facts.size());
  stage(data::files::sf, data::records_jsonl(d.sf), d.sf.size());
  stage(data::files::sr, data::records_jsonl(d.sr), d.sr.size());
  stage(data::files::wrong_details, data::records_jsonl(d.wrong_details), d.wrong_details.size());
  stage(data::files::forget_eval, data::records_jsonl(d.forget_eval), d.forget_eval.size());
  stage(data::files::world, data::records_jsonl(d.world), d.world.size());
  stage(data::files::holdout, data::records_jsonl(d.holdout), d.holdout.size());
  stage(data::files::corpus, "", 0);
  for (const auto& [name, text] : extra)
    stage(name, text, static_cast<size_t>(std::count(text.begin(), text.end(), '\n')));
  json subsets = json::object();
  for (const auto* list : {&d.sf, &d.sr, &d.world, &d.holdout})
    for (const auto& q : *list) {
      const std::string name = data::subset_name(q.subset);
      subsets[name] = subsets.value(name, 0) + 1;
    }
  json roles = json::object();
  for (const auto& p : d.profiles) {
    const std::string name = data::role_name(p.role);
    roles[name] = roles.value(name, 0) + 1;
  }
  manifest["counts"] = counts;
  manifest["subsets"] = subsets;
  manifest["people"] = roles;
  manifest["corpus_text_bytes"] = 0;
  manifest["files"] = files;
  staged.add(d.dir / data::files::manifest, manifest.dump(2) + "\n");
  staged.commit();
  return manifest;
}

}  // namespace lethe::datagen
