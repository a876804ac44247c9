// The SISA folder layout readers and the forget-record match.
#include "io/sisa_folder.h"

#include <set>

#include "core/error.h"
#include "core/json_io.h"

namespace lethe::io {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_sisa_folder(const fs::path& folder) { return fs::is_regular_file(folder / kSisaManifest); }

fs::path resolve_sisa_adapter(const fs::path& folder) {
  if (!is_sisa_folder(folder)) return folder;
  const json manifest = core::read_json(folder / kSisaManifest);
  const std::string combine = manifest.value("combine", "merge");
  LETHE_CHECK(combine == "merge", (folder / kSisaManifest).string(), ": combine '", combine,
              "' cannot be evaluated as one adapter (only merge is; fine-tune with --combine "
              "merge)");
  LETHE_CHECK(fs::is_directory(folder / kSisaMerged), folder.string(),
              ": a sharded fine-tune without its merged/ adapter");
  return folder / kSisaMerged;
}

std::vector<std::string> forget_keys(const json& r) {
  std::vector<std::string> keys;
  if (!r.is_object()) return keys;
  if (r.contains("id") && r["id"].is_string() && !r["id"].get<std::string>().empty())
    keys.push_back("id:" + r["id"].get<std::string>());
  if (r.contains("question") && r["question"].is_string() && r.contains("answer") &&
      r["answer"].is_string())
    keys.push_back("qa:" + r["question"].get<std::string>() + '\x1f' +
                   r["answer"].get<std::string>());
  return keys;
}

size_t count_forget_records(const fs::path& records_file, const fs::path& forget_file) {
  std::set<std::string> keys;
  for (const auto& r : core::read_jsonl(forget_file))
    for (auto& k : forget_keys(r)) keys.insert(std::move(k));
  size_t n = 0;
  for (const auto& r : core::read_jsonl(records_file)) {
    bool hit = false;
    for (const auto& k : forget_keys(r)) hit = hit || keys.count(k) > 0;
    n += hit;
  }
  return n;
}

}  // namespace lethe::io
