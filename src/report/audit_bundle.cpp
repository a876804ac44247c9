// Exporting an audit ledger with the files it names into a folder that verifies wherever it goes.
#include "report/audit_bundle.h"

#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "report/audit.h"

namespace lethe::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kBundleSchema = "lethe.audit_bundle.v1";

fs::path absolute_normal(const fs::path& path) {
  fs::path p = fs::absolute(path).lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

bool inside(const fs::path& path, const fs::path& folder) {
  const fs::path rel = path.lexically_relative(folder);
  return !rel.empty() && *rel.begin() != "..";
}

// DIR must be absent or an empty folder; a bundle is never merged into other files.
void check_target(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::symlink_status(dir, ec);
  if (!fs::exists(status)) return;
  LETHE_CHECK(fs::is_directory(fs::status(dir, ec)), "audit --export: ", dir.string(),
              " exists and is not a folder");
  LETHE_CHECK(fs::is_empty(dir, ec) && !ec, "audit --export: ", dir.string(),
              " exists and is not empty (give a new or an empty folder)");
}

uintmax_t size_of(const fs::path& path) {
  if (!fs::is_directory(path)) return fs::file_size(path);
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (e.is_regular_file()) bytes += e.file_size();
  return bytes;
}

// Copies ROOT/REL to TMP/REL (a folder with its content; links are followed, so the copy holds
// the bytes that were hashed).
void copy_entry(const fs::path& root, const std::string& rel, const fs::path& tmp) {
  const fs::path from = root / rel, to = tmp / rel;
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (!ec) {
    if (fs::is_directory(from))
      fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    else
      fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  }
  LETHE_CHECK(!ec, "audit --export: cannot copy ", from.string(), " into ", tmp.string(), ": ",
              ec.message());
}

}  // namespace

std::optional<BundleManifest> read_bundle_manifest(const fs::path& root,
                                                   const std::string& ledger_name) {
  const fs::path file = root / kBundleManifest;
  if (!fs::exists(file)) return std::nullopt;
  const json j = core::read_json(file);
  LETHE_CHECK(
      j.is_object() && j.value("schema", "") == kBundleSchema && j.contains("ledger") &&
          j["ledger"].is_string() && j.contains("ledger_sha256") && j["ledger_sha256"].is_string(),
      file.string(), ": not a ", kBundleSchema, " manifest (schema, ledger, ledger_sha256)");
  if (j["ledger"] != ledger_name) return std::nullopt;
  BundleManifest m;
  m.ledger = ledger_name;
  m.ledger_sha256 = j["ledger_sha256"].get<std::string>();
  if (j.contains("not_included") && j["not_included"].is_array())
    for (const auto& e : j["not_included"])
      if (e.is_object() && e.contains("path") && e["path"].is_string() && e.contains("sha256") &&
          e["sha256"].is_string())
        m.not_included[e["path"].get<std::string>()] = e["sha256"].get<std::string>();
  return m;
}

BundleSummary export_audit_bundle(const fs::path& ledger, const fs::path& dir) {
  LETHE_CHECK(fs::is_regular_file(ledger), "audit --export: ledger ", ledger.string(),
              " does not exist");
  LETHE_CHECK(!dir.empty(), "audit --export: no folder given");
  check_target(dir);
  const VerifyReport source = verify_ledger(ledger);
  LETHE_CHECK(source.ok(), "audit --export: ", ledger.string(), " does not verify (",
              source.problems.size(),
              " problem(s), the first: ", source.problems.empty() ? "" : source.problems[0],
              "); nothing was exported");
  const fs::path root = source.root;
  BundleSummary summary;
  summary.dir = absolute_normal(dir);

  // What the records name: relative paths are copied, absolute ones named in the manifest.
  std::set<std::string> relative;
  json not_included = json::array();
  std::set<std::string> absolute_seen;
  std::istringstream in(core::read_file(ledger));
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json rec = json::parse(line);  // verify_ledger found every line valid
    ++summary.records;
    LETHE_CHECK(rec.value("schema", "") != "lethe.audit.v1", "audit --export: ", ledger.string(),
                ":", line_no, ": record ", rec.value("request_id", "?"),
                " records absolute paths (lethe.audit.v1, an older lethe), so there is nothing "
                "beside the ledger to bundle; re-run the audit stage to rewrite the ledger");
    for (const auto& [what, e] : recorded_entries(rec)) {
      const std::string path = e["path"].get<std::string>();
      if (!fs::path(path).is_absolute()) {
        LETHE_CHECK(path != "." && !path.empty(), "audit --export: record ",
                    rec.value("request_id", "?"), ": ", what,
                    " is the ledger's whole folder; a bundle cannot hold it");
        relative.insert(path);
      } else if (absolute_seen.insert(path).second) {
        not_included.push_back({{"what", what}, {"path", path}, {"sha256", e["sha256"]}});
        summary.not_included.push_back(what + " " + path + " (sha256 " +
                                       e["sha256"].get<std::string>().substr(0, 12) + "..)");
      }
    }
  }
  for (const auto& rel : relative)
    LETHE_CHECK(!inside(summary.dir, absolute_normal(root / rel)) &&
                    summary.dir != absolute_normal(root / rel),
                "audit --export: ", dir.string(), " lies inside ", rel,
                ", which the bundle copies; give a folder outside it");

  std::error_code ec;
  fs::create_directories(summary.dir.parent_path(), ec);
  LETHE_CHECK(!ec, "audit --export: cannot create ", summary.dir.parent_path().string(), ": ",
              ec.message());
  const fs::path tmp = core::temp_path_for(summary.dir);
  fs::remove_all(tmp, ec);
  fs::create_directory(tmp, ec);
  LETHE_CHECK(!ec, "audit --export: cannot create a folder in ", summary.dir.parent_path().string(),
              ": ", ec.message());
  try {
    const std::string name = ledger.filename().string();
    fs::copy_file(ledger, tmp / name, ec);
    LETHE_CHECK(!ec, "audit --export: cannot copy ", ledger.string(), ": ", ec.message());
    for (const auto& rel : relative) {
      copy_entry(root, rel, tmp);
      summary.bytes += size_of(tmp / rel);
      summary.included.push_back(rel);
    }
    const json manifest = {{"schema", kBundleSchema},
                           {"ledger", name},
                           {"ledger_sha256", core::sha256_file(ledger)},
                           {"records", summary.records},
                           {"exported_from", absolute_normal(ledger).string()},
                           {"included", summary.included},
                           {"not_included", not_included}};
    core::write_file_atomic(tmp / kBundleManifest, manifest.dump(2) + "\n");
    // The copy is checked before it becomes visible: DIR is complete or absent. rename(2) replaces
    // an empty folder and refuses a non-empty one (created since check_target).
    const VerifyReport copy = verify_ledger(tmp / name);
    LETHE_CHECK(copy.ok(), "audit --export: the copy does not verify (", copy.problems.size(),
                " problem(s), the first: ", copy.problems.empty() ? "" : copy.problems[0],
                "); nothing was exported");
    fs::rename(tmp, summary.dir, ec);
    LETHE_CHECK(!ec, "audit --export: cannot move the bundle into ", summary.dir.string(), ": ",
                ec.message());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  return summary;
}

}  // namespace lethe::report
