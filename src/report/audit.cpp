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

}  // namespace

json hash_entry(const fs::path& path, HashCache* cache) {
  LETHE_CHECK(fs::exists(path), "audit: ", path.string(), " does not exist");
  const bool folder = fs::is_directory(path);
  const std::string absolute = fs::absolute(path).lexically_normal().string();
  std::string sha;
  if (cache && cache->count(absolute)) {
    sha = cache->at(absolute);
  } else {
    sha = folder ? core::sha256_tree(path) : core::sha256_file(path);
    if (cache) (*cache)[absolute] = sha;
  }
  return {{"path", absolute}, {"kind", folder ? "folder" : "file"}, {"sha256", sha}};
}

json make_audit_record(const AuditRequest& r, const AuditThresholds& t, HashCache* cache) {
  LETHE_CHECK(!r.subject.empty(), "audit: the request has no subject");
  LETHE_CHECK(!r.forget_set.empty(), "audit: the request has no forget set");
  LETHE_CHECK(!r.base_model.empty(), "audit: the request has no base model");
  json rec;
  rec["schema"] = "lethe.audit.v1";
  rec["time"] = now_iso();
  rec["subject"] = r.subject;
  rec["forget_set"] = hash_entry(r.forget_set, cache);
  rec["base_model"] = hash_entry(r.base_model, cache);
  rec["adapters"] = json::object();
  for (const auto& [name, path] : r.adapters) rec["adapters"][name] = hash_entry(path, cache);
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
  json rec = make_audit_record(request, t);
  const auto lines = ledger_lines(ledger);
  rec["prev_record_sha256"] = lines.empty() ? json(nullptr) : json(core::sha256_hex(lines.back()));
  core::append_line(ledger, rec.dump());
  return rec;
}

std::vector<json> write_audit_ledger(const fs::path& ledger,
                                     const std::vector<AuditRequest>& requests,
                                     const AuditThresholds& t) {
  HashCache cache;
  std::vector<json> records;
  std::string text, prev;
  for (const auto& r : requests) {
    json rec = make_audit_record(r, t, &cache);
    rec["prev_record_sha256"] = records.empty() ? json(nullptr) : json(core::sha256_hex(prev));
    prev = rec.dump();
    text += prev + "\n";
    records.push_back(std::move(rec));
  }
  core::write_file_atomic(ledger, text);
  return records;
}

VerifyReport verify_ledger(const fs::path& ledger) {
  LETHE_CHECK(fs::exists(ledger), "audit: ledger ", ledger.string(), " does not exist");
  VerifyReport report;
  const auto lines = ledger_lines(ledger);
  HashCache cache;  // a base model named by every record is hashed once
  std::string prev;
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
    std::vector<std::pair<std::string, json>> entries;
    for (const char* key : {"forget_set", "base_model"})
      if (rec.contains(key)) entries.emplace_back(key, rec[key]);
    if (rec.contains("adapters") && rec["adapters"].is_object())
      for (const auto& [name, e] : rec["adapters"].items())
        entries.emplace_back("adapter " + name, e);
    for (const auto& [what, e] : entries) {
      if (!e.is_object() || !e.contains("path") || !e.contains("sha256")) {
        report.problems.push_back("record " + id + ": " + what + ": no path/sha256 recorded");
        continue;
      }
      const fs::path path = e["path"].get<std::string>();
      const std::string want = e["sha256"].get<std::string>();
      ++report.hashes_checked;
      if (!fs::exists(path)) {
        report.problems.push_back("record " + id + ": " + what + " " + path.string() +
                                  ": missing on disk");
        continue;
      }
      const std::string now = hash_entry(path, &cache)["sha256"].get<std::string>();
      if (now != want)
        report.problems.push_back("record " + id + ": " + what + " " + path.string() +
                                  ": sha256 differs (recorded " + want.substr(0, 12) + ".., now " +
                                  now.substr(0, 12) + "..)");
    }
  }
  return report;
}

std::string certificate_text(const json& rec) {
  std::ostringstream out;
  out << "=== Unlearning certificate " << fmt(rec.value("request_id", json(nullptr))) << " ===\n";
  out << "time:        " << fmt(rec.value("time", json(nullptr))) << "\n";
  out << "subject:     " << fmt(rec.value("subject", json(nullptr))) << "\n";
  out << "method:      " << fmt(rec.value("method", json(nullptr))) << "\n";
  auto hashed = [&](const std::string& label, const json& e) {
    out << label << fmt(e.value("path", json(nullptr))) << "\n             sha256 "
        << fmt(e.value("sha256", json(nullptr))) << "\n";
  };
  if (rec.contains("forget_set") && rec["forget_set"].is_object())
    hashed("forget set:  ", rec["forget_set"]);
  if (rec.contains("base_model") && rec["base_model"].is_object())
    hashed("base model:  ", rec["base_model"]);
  if (rec.contains("adapters") && rec["adapters"].is_object())
    for (const auto& [name, e] : rec["adapters"].items())
      if (e.is_object()) hashed("adapter " + name + ": ", e);
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
