// Audit records: hashing, verdict, append with a hash chain, verification and certificates.
#include "report/audit.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "io/sisa_folder.h"
#include "report/audit_bundle.h"

namespace lethe::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string now_iso() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<double> get_number(const json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

json threshold_json(const std::optional<double>& t) { return t ? json(*t) : json(nullptr); }

// One check: {"name", "value", "threshold", "rule", "status": pass|fail|not_measured|not_judged}.
json check(const std::string& name, std::optional<double> value,
           const std::optional<double>& threshold, bool at_most) {
  json c = {{"name", name},
            {"value", value ? json(*value) : json(nullptr)},
            {"threshold", threshold_json(threshold)},
            {"rule", at_most ? "<=" : ">="}};
  if (!value)
    c["status"] = "not_measured";
  else if (!threshold)
    c["status"] = "not_judged";
  else
    c["status"] = (at_most ? *value <= *threshold : *value >= *threshold) ? "pass" : "fail";
  return c;
}

std::vector<std::string> ledger_lines(const fs::path& ledger) {
  std::vector<std::string> lines;
  if (!fs::exists(ledger)) return lines;
  std::istringstream in(core::read_file(ledger));
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  return lines;
}

std::string fmt(const json& v) {
  if (v.is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v.get<double>());
    return buf;
  }
  if (v.is_null()) return "-";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

constexpr const char* kSchema = "lethe.audit.v2";

// A sisa record's proof, re-derived from the files: each shard's records.jsonl has the recorded
// sha256 and no record of the forget set is among them.
void check_sisa_evidence(const json& rec, const std::string& id, VerifyReport& report) {
  const auto& config = rec.value("config", json::object());
  if (!config.contains("shards") || !config["shards"].is_array() || config["shards"].empty()) {
    report.problems.push_back("record " + id + ": sisa: no per-shard evidence recorded");
    return;
  }
  const json forget = rec.value("forget_set", json::object());
  if (!forget.contains("path") || !forget["path"].is_string()) return;  // reported above
  const fs::path forget_path = resolve_recorded_path(forget["path"], report.root);
  for (const auto& s : config["shards"]) {
    const std::string name = s.value("adapter", "");
    const json entry = rec["adapters"].value(name, json::object());
    if (!entry.contains("path") || !entry["path"].is_string()) {
      report.problems.push_back("record " + id + ": sisa: shard " + name + " not hashed");
      continue;
    }
    const fs::path records = resolve_recorded_path(entry["path"], report.root) / io::kSisaRecords;
    const std::string where = "record " + id + ": sisa shard " + name + ": ";
    if (!fs::is_regular_file(records) || !fs::is_regular_file(forget_path)) {
      report.problems.push_back(where + records.string() + " or the forget set is missing");
      continue;
    }
    ++report.hashes_checked;
    if (core::sha256_file(records) != s.value("records_sha256", ""))
      report.problems.push_back(where + "records.jsonl sha256 differs from the recorded one");
    const size_t left = io::count_forget_records(records, forget_path);
    if (left > 0)
      report.problems.push_back(where + std::to_string(left) +
                                " record(s) of the forget set among its training records");
  }
}
constexpr const char* kSchemaAbsolute = "lethe.audit.v1";  // every path absolute

// Absolute, normalized, without a trailing separator (so that lexically_relative compares folders).
fs::path absolute_normal(const fs::path& path) {
  fs::path p = fs::absolute(path).lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

// {"kind", "sha256"} and for a folder "files": the per-file hashes sha256_tree is computed from.
json content_hash(const fs::path& path) {
  if (!fs::is_directory(path)) return {{"kind", "file"}, {"sha256", core::sha256_file(path)}};
  const auto files = core::sha256_tree_files(path);
  json listing = json::object();
  for (const auto& [name, sha] : files) listing[name] = sha;
  return {{"kind", "folder"}, {"sha256", core::sha256_tree_of(files)}, {"files", listing}};
}

bool escapes(const fs::path& relative) {
  for (const auto& part : relative)
    if (part == "..") return true;
  return false;
}

// "ab12cd34ef56.." of a recorded hash (whatever a hand-edited ledger holds there).
std::string short_sha(const json& sha) {
  return sha.is_string() ? sha.get<std::string>().substr(0, 12) + ".." : sha.dump();
}

// The files of a folder entry that differ from the recorded listing, one problem each.
std::vector<std::string> changed_files(const json& recorded, const json& now) {
  std::vector<std::string> out;
  for (const auto& [name, sha] : recorded.items()) {
    if (!now.contains(name))
      out.push_back(name + ": missing on disk");
    else if (now[name] != sha)
      out.push_back(name + ": sha256 differs (recorded " + short_sha(sha) + ", now " +
                    short_sha(now[name]) + ")");
  }
  for (const auto& [name, sha] : now.items())
    if (!recorded.contains(name)) out.push_back(name + ": not in the record (added)");
  return out;
}

}  // namespace

std::string recorded_path(const fs::path& path, const fs::path& root) {
  const fs::path abs = absolute_normal(path);
  if (!root.empty()) {
    const fs::path rel = abs.lexically_relative(absolute_normal(root));
    if (!rel.empty() && rel != "." && *rel.begin() != "..") return rel.generic_string();
  }
  return abs.string();
}

fs::path resolve_recorded_path(const std::string& recorded, const fs::path& root) {
  const fs::path p(recorded);
  return p.is_absolute() ? p : root / p;
}

json hash_entry(const fs::path& path, const fs::path& root, HashCache* cache) {
  LETHE_CHECK(fs::exists(path), "audit: ", path.string(), " does not exist");
  const std::string absolute = absolute_normal(path).string();
  json content;
  if (cache && cache->count(absolute)) {
    content = cache->at(absolute);
  } else {
    content = content_hash(path);
    if (cache) (*cache)[absolute] = content;
  }
  json entry = {{"path", recorded_path(path, root)}};
  entry.update(content);
  return entry;
}

json make_audit_record(const AuditRequest& r, const AuditThresholds& t, const fs::path& root,
                       HashCache* cache) {
  LETHE_CHECK(!r.subject.empty(), "audit: the request has no subject");
  LETHE_CHECK(!r.forget_set.empty(), "audit: the request has no forget set");
  LETHE_CHECK(!r.base_model.empty(), "audit: the request has no base model");
  json rec;
  rec["schema"] = kSchema;
  rec["time"] = now_iso();
  rec["subject"] = r.subject;
  rec["forget_set"] = hash_entry(r.forget_set, root, cache);
  rec["base_model"] = hash_entry(r.base_model, root, cache);
  rec["adapters"] = json::object();
  for (const auto& [name, path] : r.adapters) rec["adapters"][name] = hash_entry(path, root, cache);
  rec["results"] = json::object();
  for (const auto& [name, path] : r.results) rec["results"][name] = hash_entry(path, root, cache);
  // Derived ids also hash the method and adapters: records written in the same clock tick for the
  // same subject (a run's ledger) still get distinct ids.
  rec["request_id"] =
      r.request_id.empty()
          ? "req-" +
                core::sha256_hex(
                    std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) +
                    r.subject + rec["forget_set"]["sha256"].get<std::string>() + r.method +
                    rec["adapters"].dump())
                    .substr(0, 12)
          : r.request_id;
  rec["method"] = r.method;
  rec["config"] = r.config;
  rec["metrics_before"] = r.metrics_before;
  rec["metrics_after"] = r.metrics_after;
  rec["robustness"] = r.robustness;

  std::optional<double> utility_ratio;
  auto before = get_number(r.metrics_before, "model_utility"),
       after = get_number(r.metrics_after, "model_utility");
  if (before && after && *before > 0) utility_ratio = *after / *before;
  std::optional<double> mia_distance;
  if (auto auc = get_number(r.robustness, "mia_auc")) mia_distance = std::fabs(*auc - 0.5);
  json checks =
      json::array({check("forget_rouge_l", get_number(r.metrics_after, "forget_rouge_l"),
                         t.max_forget_rouge_l, true),
                   check("utility_ratio", utility_ratio, t.min_utility_ratio, false),
                   check("quantization_recovery", get_number(r.robustness, "quantization_recovery"),
                         t.max_quant_recovery, true),
                   check("relearning_recovery", get_number(r.robustness, "relearning_recovery"),
                         t.max_relearn_recovery, true),
                   check("probe_accuracy", get_number(r.robustness, "probe_accuracy"),
                         t.max_probe_accuracy, true),
                   check("mia_auc_distance", mia_distance, t.max_mia_auc_distance, true)});
  bool any_fail = false, any_pass = false, forget_measured = false;
  for (const auto& c : checks) {
    any_fail |= c["status"] == "fail";
    any_pass |= c["status"] == "pass";
    if (c["name"] == "forget_rouge_l") forget_measured = c["status"] != "not_measured";
  }
  rec["verdict"] = {
      {"result", any_fail ? "fail" : (any_pass && forget_measured ? "pass" : "incomplete")},
      {"checks", checks}};
  return rec;
}

json append_audit_record(const fs::path& ledger, const AuditRequest& request,
                         const AuditThresholds& t) {
  json rec = make_audit_record(request, t, absolute_normal(ledger).parent_path());
  const auto lines = ledger_lines(ledger);
  rec["prev_record_sha256"] = lines.empty() ? json(nullptr) : json(core::sha256_hex(lines.back()));
  core::append_line(ledger, rec.dump());
  return rec;
}

std::vector<json> write_audit_ledger(const fs::path& ledger,
                                     const std::vector<AuditRequest>& requests,
                                     const AuditThresholds& t, const fs::path& root) {
  const fs::path folder = root.empty() ? absolute_normal(ledger).parent_path() : root;
  HashCache cache;
  std::vector<json> records;
  std::string text, prev;
  for (const auto& r : requests) {
    json rec = make_audit_record(r, t, folder, &cache);
    rec["prev_record_sha256"] = records.empty() ? json(nullptr) : json(core::sha256_hex(prev));
    prev = rec.dump();
    text += prev + "\n";
    records.push_back(std::move(rec));
  }
  core::write_file_atomic(ledger, text);
  return records;
}

std::vector<std::pair<std::string, json>> recorded_entries(const json& rec) {
  std::vector<std::pair<std::string, json>> entries;
  for (const char* key : {"forget_set", "base_model"})
    if (rec.contains(key)) entries.emplace_back(key, rec[key]);
  for (const auto& [group, label] :
       {std::pair<const char*, const char*>{"adapters", "adapter "}, {"results", "results "}})
    if (rec.contains(group) && rec[group].is_object())
      for (const auto& [name, e] : rec[group].items()) entries.emplace_back(label + name, e);
  return entries;
}

AuditRequest sisa_audit_request(const fs::path& sisa_out, const fs::path& forget_set,
                                const fs::path& base_model, const json& source_manifest) {
  const json manifest = core::read_json(sisa_out / io::kSisaManifest);
  AuditRequest r;
  std::set<std::string> persons;
  for (const auto& rec : core::read_jsonl(forget_set))
    if (rec.contains("person_id") && rec["person_id"].is_string()) persons.insert(rec["person_id"]);
  for (const auto& p : persons) r.subject += (r.subject.empty() ? "" : ", ") + p;
  if (r.subject.empty()) r.subject = "the records of " + forget_set.filename().string();
  r.forget_set = forget_set;
  r.base_model = base_model;
  r.method = "sisa";
  json shards = json::array();
  for (const auto& s : manifest.at("shard_list")) {
    const std::string name = fs::path(s.at("folder").get<std::string>()).filename().string();
    r.adapters[name] = sisa_out / s.at("folder").get<std::string>();
    shards.push_back({{"adapter", name},
                      {"records", s.at("records")},
                      {"records_sha256", s.at("records_sha256")},
                      {"retrained", s.value("retrained", false)},
                      {"forget_records_left", s.value("forget_records_left", -1)}});
  }
  r.adapters["merged"] = sisa_out / io::kSisaMerged;
  r.results["sisa"] = sisa_out / io::kSisaManifest;
  r.config = {{"shards", shards},
              {"combine", manifest.value("combine", "merge")},
              {"retrained", manifest.at("unlearn").at("retrained")},
              {"seconds", manifest.at("unlearn").at("seconds")},
              {"source_sha256", core::sha256_hex(source_manifest.dump())}};
  return r;
}

VerifyReport verify_ledger(const fs::path& ledger) {
  LETHE_CHECK(fs::exists(ledger), "audit: ledger ", ledger.string(), " does not exist");
  VerifyReport report;
  report.root = absolute_normal(ledger).parent_path();
  std::optional<BundleManifest> bundle;
  try {
    bundle = read_bundle_manifest(report.root, ledger.filename().string());
  } catch (const std::exception& e) {
    report.problems.push_back(e.what());
  }
  if (bundle && bundle->ledger_sha256 != core::sha256_file(ledger))
    report.problems.push_back(std::string(kBundleManifest) + ": " + ledger.filename().string() +
                              " is not the ledger that was exported (its sha256 differs)");
  const auto lines = ledger_lines(ledger);
  HashCache cache;  // a base model named by every record is hashed once
  std::string prev;
  size_t absolute_records = 0;
  std::string first_absolute;
  for (size_t i = 0; i < lines.size(); ++i) {
    json rec;
    try {
      rec = json::parse(lines[i]);
    } catch (const std::exception& e) {
      report.problems.push_back(ledger.string() + ":" + std::to_string(i + 1) + ": not valid JSON");
      prev = lines[i];
      continue;
    }
    ++report.records;
    const std::string id = rec.value("request_id", "#" + std::to_string(i + 1));
    const json want_prev = i == 0 ? json(nullptr) : json(core::sha256_hex(prev));
    if (rec.value("prev_record_sha256", json(nullptr)) != want_prev)
      report.problems.push_back("record " + id +
                                ": chain broken (an earlier record was changed or removed)");
    prev = lines[i];
    if (rec.value("schema", "") == kSchemaAbsolute) ++absolute_records;
    for (const auto& [what, e] : recorded_entries(rec)) {
      if (!e.is_object() || !e.contains("path") || !e["path"].is_string() ||
          !e.contains("sha256") || !e["sha256"].is_string()) {
        report.problems.push_back("record " + id + ": " + what + ": no path/sha256 recorded");
        continue;
      }
      const std::string recorded = e["path"].get<std::string>();
      const std::string want = e["sha256"].get<std::string>();
      const bool absolute = fs::path(recorded).is_absolute();
      if (!absolute && escapes(recorded)) {
        report.problems.push_back("record " + id + ": " + what + " " + recorded +
                                  ": leaves the ledger's folder (a relative path with ..)");
        continue;
      }
      const std::string where = "record " + id + ": " + what + " " + recorded;
      const fs::path path = resolve_recorded_path(recorded, report.root);
      const bool exists = fs::exists(path);
      if (!exists && absolute && bundle && bundle->not_included.count(recorded) &&
          bundle->not_included.at(recorded) == want) {
        report.notes.push_back("not checked: " + where +
                               ": outside the bundle and not on this machine (recorded sha256 " +
                               want + ")");
        continue;
      }
      ++report.hashes_checked;
      if (absolute) {
        ++report.absolute_paths;
        if (first_absolute.empty()) first_absolute = what + " " + recorded;
      }
      if (!exists) {
        report.problems.push_back(where + ": missing on disk");
        continue;
      }
      const json now = hash_entry(path, report.root, &cache);
      if (now["sha256"] == want) continue;
      const auto files = e.contains("files") && e["files"].is_object() && now.contains("files")
                             ? changed_files(e["files"], now["files"])
                             : std::vector<std::string>{};
      if (files.empty())
        report.problems.push_back(where + ": sha256 differs (recorded " + short_sha(want) +
                                  ", now " + short_sha(now["sha256"]) + ")");
      for (const auto& f : files) report.problems.push_back(where + "/" + f);
    }
    if (rec.value("method", "") == "sisa") check_sisa_evidence(rec, id, report);
  }
  if (absolute_records > 0)
    report.notes.push_back(std::to_string(absolute_records) + " record(s) of " + kSchemaAbsolute +
                           " (an older lethe) record absolute paths: those files were checked "
                           "where the records say, not beside this ledger, so a copy of the "
                           "folder is not what was verified; re-run the audit stage for a "
                           "portable ledger");
  else if (report.absolute_paths > 0)
    report.notes.push_back(std::to_string(report.absolute_paths) +
                           " path(s) outside the ledger's folder are recorded absolute (" +
                           first_absolute + "): checked there; they do not travel with a copy");
  return report;
}

std::string certificate_text(const json& rec, const fs::path& root) {
  std::ostringstream out;
  out << "=== Unlearning certificate " << fmt(rec.value("request_id", json(nullptr))) << " ===\n";
  out << "time:        " << fmt(rec.value("time", json(nullptr))) << "\n";
  out << "subject:     " << fmt(rec.value("subject", json(nullptr))) << "\n";
  out << "method:      " << fmt(rec.value("method", json(nullptr))) << "\n";
  if (!root.empty()) out << "paths:       relative to " << root.string() << "\n";
  for (const auto& [what, e] : recorded_entries(rec)) {
    if (!e.is_object()) continue;
    const json path = e.value("path", json(nullptr));
    const bool absolute = path.is_string() && fs::path(path.get<std::string>()).is_absolute();
    const std::string label = what == "forget_set"   ? "forget set"
                              : what == "base_model" ? "base model"
                                                     : what;
    out << label << ":" << std::string(label.size() < 12 ? 12 - label.size() : 1, ' ') << fmt(path)
        << (absolute ? "  (absolute: not portable)" : "") << "\n             sha256 "
        << fmt(e.value("sha256", json(nullptr))) << "\n";
  }
  out << "metrics (before -> after):\n";
  const json before = rec.value("metrics_before", json::object()),
             after = rec.value("metrics_after", json::object());
  std::set<std::string> keys;
  for (const auto& j : {before, after})
    if (j.is_object())
      for (const auto& [k, v] : j.items()) keys.insert(k);
  for (const auto& k : keys)
    out << "  " << k << ": " << fmt(before.value(k, json(nullptr))) << " -> "
        << fmt(after.value(k, json(nullptr))) << "\n";
  const json rob = rec.value("robustness", json::object());
  if (rob.is_object() && !rob.empty()) {
    out << "robustness:\n";
    for (const auto& [k, v] : rob.items()) out << "  " << k << ": " << fmt(v) << "\n";
  }
  if (rec.contains("verdict") && rec["verdict"].is_object()) {
    const json& v = rec["verdict"];
    out << "checks:\n";
    if (v.contains("checks") && v["checks"].is_array())
      for (const auto& c : v["checks"])
        out << "  [" << fmt(c.value("status", json(nullptr))) << "] "
            << fmt(c.value("name", json(nullptr))) << " = " << fmt(c.value("value", json(nullptr)))
            << " (" << fmt(c.value("rule", json(nullptr))) << " "
            << fmt(c.value("threshold", json(nullptr))) << ")\n";
    out << "VERDICT: " << fmt(v.value("result", json(nullptr))) << "\n";
  }
  return out.str();
}

}  // namespace lethe::report
