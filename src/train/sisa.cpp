// SISA over LoRA: the person-whole split, the sharded fine-tune, the exact merge of shard deltas
// and the shard-retraining unlearning request.
#include "train/sisa.h"

#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/sha256.h"
#include "data/batching.h"
#include "io/model_path.h"
#include "model/lora.h"

namespace lethe::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string shard_name(size_t k) { return "shard-" + std::to_string(k); }

// Trains one shard's adapter from the base on RECORDS (written first as DIR/records.jsonl); an
// empty shard gets the untrained adapter (B = 0: a zero delta). Returns its manifest entry.
json train_shard(const FinetuneConfig& base_config, size_t k, size_t shards,
                 const std::vector<json>& records, const fs::path& dir) {
  const auto t0 = std::chrono::steady_clock::now();
  fs::create_directories(dir);
  const fs::path records_file = dir / io::kSisaRecords;
  core::write_file_atomic(records_file, sisa_records_text(records));
  FinetuneConfig c = base_config;
  c.data = {records_file.string()};
  c.out = dir.string();
  c.retain_only = false;  // already applied to the records
  c.train.label = "finetune " + shard_name(k) + "/" + std::to_string(shards);
  if (records.empty()) {
    const fs::path model_dir = io::resolve_model_path(c.model);
    auto model = model::load_causal_lm(model_dir.string(), torch::kFloat32, torch::kCPU);
    model::attach_lora(model, c.lora, c.train.seed);
    model::save_adapter(model, dir, c.model);
  } else {
    run_finetune(c, false);
  }
  std::set<std::string> persons;
  for (const auto& r : records)
    if (r.contains("person_id") && r["person_id"].is_string()) persons.insert(r["person_id"]);
  json entry = {{"index", k},
                {"folder", "shards/" + shard_name(k)},
                {"persons", persons},
                {"records", records.size()},
                {"records_sha256", core::sha256_file(records_file)},
                {"seconds", seconds_since(t0)}};
  core::write_json(dir / "shard.json", entry);
  return entry;
}

void write_merged(const fs::path& out, const std::vector<fs::path>& shard_dirs) {
  std::vector<io::Adapter> adapters;
  for (const auto& d : shard_dirs) adapters.push_back(io::load_adapter(d));
  io::save_adapter(out / io::kSisaMerged, merge_shard_adapters(adapters));
}

}  // namespace

void check_sisa_options(const SisaOptions& o) {
  if (o.shards < 1)
    throw UsageError("--shards: must be at least 1, got " + std::to_string(o.shards));
  if (o.combine != "merge" && o.combine != "ensemble")
    throw UsageError("--combine: unknown mode '" + o.combine + "' (valid: merge, ensemble)");
}

std::vector<SisaRecord> read_sisa_records(const std::vector<std::string>& files, bool retain_only) {
  std::vector<SisaRecord> out;
  for (const auto& file : files) {
    // read_qa_records validates question/answer with file:line errors.
    data::read_qa_records(file);
    core::for_each_jsonl(file, [&](const json& r, size_t) {
      if (retain_only && r.value("subset", "") == "forget") return;
      SisaRecord s;
      s.record = r;
      if (r.contains("person_id") && r["person_id"].is_string() &&
          !r["person_id"].get<std::string>().empty())
        s.person = r["person_id"].get<std::string>();
      else if (r.contains("id") && r["id"].is_string())
        s.person = "record:" + r["id"].get<std::string>();
      else
        s.person = "record:" + r["question"].get<std::string>();
      out.push_back(std::move(s));
    });
  }
  return out;
}

std::vector<std::vector<size_t>> sisa_split(const std::vector<std::string>& person_of_record,
                                            int64_t shards, uint64_t seed) {
  check_sisa_options({shards, "merge"});
  std::vector<std::string> persons(person_of_record.begin(), person_of_record.end());
  std::sort(persons.begin(), persons.end());
  persons.erase(std::unique(persons.begin(), persons.end()), persons.end());
  if (static_cast<size_t>(shards) > persons.size())
    throw UsageError("--shards " + std::to_string(shards) + ": more shards than persons (" +
                     std::to_string(persons.size()) + ") in the fine-tuning data");
  core::SplitMix64Rng rng(seed);
  rng.shuffle(persons);
  std::map<std::string, size_t> shard_of;
  for (size_t i = 0; i < persons.size(); ++i) shard_of[persons[i]] = i % shards;
  std::vector<std::vector<size_t>> out(shards);
  for (size_t i = 0; i < person_of_record.size(); ++i)
    out[shard_of.at(person_of_record[i])].push_back(i);
  return out;
}

std::string sisa_records_text(const std::vector<json>& records) {
  std::string text;
  for (const auto& r : records) text += r.dump() + "\n";
  return text;
}

io::Adapter merge_shard_adapters(const std::vector<io::Adapter>& shards) {
  LETHE_CHECK(!shards.empty(), "sisa merge: no shard adapters");
  const io::AdapterConfig& c0 = shards.front().config;
  const double k = static_cast<double>(shards.size());
  io::Adapter merged;
  merged.config = c0;
  merged.config.r = c0.r * static_cast<int64_t>(shards.size());
  // B is scaled so the merged delta s' B A equals mean_k s B_k A_k whatever the scaling rule.
  const double factor = c0.scaling() / (k * merged.config.scaling());
  for (const auto& [prefix, w0] : shards.front().modules) {
    std::vector<torch::Tensor> a, b;
    for (const auto& shard : shards) {
      LETHE_CHECK(shard.config.r == c0.r && shard.config.lora_alpha == c0.lora_alpha &&
                      shard.config.use_rslora == c0.use_rslora &&
                      shard.config.target_modules == c0.target_modules,
                  "sisa merge: the shard adapters do not share one LoRA config");
      auto it = shard.modules.find(prefix);
      LETHE_CHECK(it != shard.modules.end(), "sisa merge: a shard has no module ", prefix);
      a.push_back(it->second.lora_A.to(torch::kFloat32));  // [r, in]
      b.push_back(it->second.lora_B.to(torch::kFloat32));  // [out, r]
    }
    merged.modules[prefix] = {torch::cat(a, 0).contiguous(),              // [K r, in]
                              (torch::cat(b, 1) * factor).contiguous()};  // [out, K r]
  }
  LETHE_CHECK(merged.modules.size() == shards.front().modules.size(), "sisa merge: empty");
  for (const auto& shard : shards)
    LETHE_CHECK(shard.modules.size() == merged.modules.size(),
                "sisa merge: the shard adapters adapt different modules");
  return merged;
}

json run_sisa_finetune(const FinetuneConfig& config, const SisaOptions& options) {
  check_sisa_options(options);
  LETHE_CHECK(!config.model.empty(), "finetune: no model given (--model)");
  LETHE_CHECK(!config.data.empty(), "finetune: no data given (--data sf.jsonl,sr.jsonl)");
  LETHE_CHECK(!config.out.empty(), "finetune: no output folder given (--out)");
  const fs::path out = config.out;
  LETHE_CHECK(!io::is_sisa_folder(out) && !fs::exists(out / "shards"), out.string(),
              " already holds a sharded fine-tune; choose another output folder");
  const auto t0 = std::chrono::steady_clock::now();
  const auto records = read_sisa_records(config.data, config.retain_only);
  LETHE_CHECK(!records.empty(), "finetune: no training records left",
              config.retain_only ? " after --retain-only dropped the forget set" : "");
  std::vector<std::string> persons;
  for (const auto& r : records) persons.push_back(r.person);
  const auto split = sisa_split(persons, options.shards, config.train.seed);

  json shard_list = json::array();
  std::vector<fs::path> dirs;
  for (size_t k = 0; k < split.size(); ++k) {
    std::vector<json> shard_records;
    for (size_t i : split[k]) shard_records.push_back(records[i].record);
    dirs.push_back(out / "shards" / shard_name(k));
    shard_list.push_back(train_shard(config, k, split.size(), shard_records, dirs.back()));
  }
  write_merged(out, dirs);
  json manifest = {{"format", kSisaFormat},      {"shards", options.shards},
                   {"combine", options.combine}, {"split", "person"},
                   {"seed", config.train.seed},  {"base_model", config.model},
                   {"records", records.size()},  {"finetune", finetune_config_to_json(config)},
                   {"shard_list", shard_list},   {"seconds", seconds_since(t0)}};
  core::write_json(out / io::kSisaManifest, manifest);
  return manifest;
}

json read_sisa_manifest(const fs::path& folder) {
  const fs::path file = folder / io::kSisaManifest;
  LETHE_CHECK(fs::is_regular_file(file), folder.string(), " is not a sharded fine-tune (no ",
              io::kSisaManifest, "; train one with lethe finetune --shards K)");
  json m = core::read_json(file);
  LETHE_CHECK(m.is_object() && m.value("format", "") == kSisaFormat, file.string(), ": not a ",
              kSisaFormat, " manifest");
  LETHE_CHECK(m.contains("shard_list") && m["shard_list"].is_array() && m.contains("finetune") &&
                  m["finetune"].is_object(),
              file.string(), ": missing 'shard_list' or 'finetune'");
  return m;
}

std::vector<fs::path> sisa_shard_folders(const fs::path& folder) {
  std::vector<fs::path> out;
  for (const auto& s : read_sisa_manifest(folder)["shard_list"])
    out.push_back(folder / s.at("folder").get<std::string>());
  return out;
}

namespace {

std::set<std::string> forget_key_set(const fs::path& forget_file) {
  std::set<std::string> keys;
  for (const auto& r : core::read_jsonl(forget_file))
    for (auto& k : io::forget_keys(r)) keys.insert(std::move(k));
  return keys;
}

bool is_forget(const json& r, const std::set<std::string>& keys) {
  for (const auto& k : io::forget_keys(r))
    if (keys.count(k)) return true;
  return false;
}

}  // namespace

SisaUnlearnResult run_sisa_unlearn(const fs::path& sisa_dir, const fs::path& forget,
                                   const fs::path& out, const std::string& model_override) {
  const auto t0 = std::chrono::steady_clock::now();
  json manifest = read_sisa_manifest(sisa_dir);
  LETHE_CHECK(fs::is_regular_file(forget), "unlearn: forget set ", forget.string(),
              " does not exist");
  LETHE_CHECK(!io::is_sisa_folder(out) && !fs::exists(out / "shards"), out.string(),
              " already holds a sharded fine-tune; choose another output folder");
  const auto keys = forget_key_set(forget);
  LETHE_CHECK(!keys.empty(), "unlearn: the forget set ", forget.string(), " is empty (no records)");
  FinetuneConfig config;
  finetune_config_from_json(manifest["finetune"], config,
                            (sisa_dir / io::kSisaManifest).string() + ": finetune");
  if (!model_override.empty()) config.model = model_override;

  SisaUnlearnResult result;
  json shard_list = json::array();
  std::vector<fs::path> dirs;
  size_t removed_total = 0;
  const auto& shards = manifest["shard_list"];
  for (size_t k = 0; k < shards.size(); ++k) {
    const json& entry = shards[k];
    const fs::path from = sisa_dir / entry.at("folder").get<std::string>();
    const fs::path records_file = from / io::kSisaRecords;
    LETHE_CHECK(fs::is_regular_file(records_file), "unlearn: ", records_file.string(),
                " is missing (every shard keeps the records it was trained on)");
    LETHE_CHECK(core::sha256_file(records_file) == entry.value("records_sha256", ""),
                "unlearn: ", records_file.string(), " does not match the sha256 in ",
                (sisa_dir / io::kSisaManifest).string(), " (the shard was changed)");
    std::vector<json> kept;
    const auto records = core::read_jsonl(records_file);
    for (const auto& r : records)
      if (!is_forget(r, keys)) kept.push_back(r);
    const fs::path to = out / entry.at("folder").get<std::string>();
    dirs.push_back(to);
    json updated;
    if (kept.size() == records.size()) {
      fs::create_directories(to.parent_path());
      fs::copy(from, to, fs::copy_options::recursive);
      updated = entry;
      updated["retrained"] = false;
    } else {
      updated = train_shard(config, k, shards.size(), kept, to);
      updated["retrained"] = true;
      updated["forget_records_removed"] = records.size() - kept.size();
      removed_total += records.size() - kept.size();
      result.retrained.push_back(static_cast<int64_t>(k));
    }
    updated["forget_records_left"] = io::count_forget_records(to / io::kSisaRecords, forget);
    LETHE_CHECK(updated["forget_records_left"] == 0, "unlearn: ", to.string(),
                " still holds forget records");
    shard_list.push_back(updated);
  }
  write_merged(out, dirs);
  result.seconds = seconds_since(t0);
  manifest["shard_list"] = shard_list;
  manifest["source"] = fs::absolute(sisa_dir).lexically_normal().string();
  manifest["unlearn"] = {{"method", "sisa"},
                         {"forget_set", fs::absolute(forget).lexically_normal().string()},
                         {"forget_sha256", core::sha256_file(forget)},
                         {"forget_records_removed", removed_total},
                         {"retrained", result.retrained},
                         {"seconds", result.seconds}};
  core::write_json(out / io::kSisaManifest, manifest);
  result.manifest = manifest;
  return result;
}

}  // namespace lethe::train
