// Resumable, atomic pipeline stages (see stage.h).
#include "pipeline/stage.h"

#include <chrono>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"

namespace fs = std::filesystem;

namespace lethe::pipeline {

std::string output_sha256(const fs::path& path) {
  return fs::is_directory(path) ? core::sha256_tree(path) : core::sha256_file(path);
}

static fs::path done_path(const fs::path& run_dir, const std::string& name) {
  return run_dir / "stages" / name / "stage_done.json";
}

nlohmann::json read_stage_done(const fs::path& run_dir, const std::string& name) {
  const fs::path path = done_path(run_dir, name);
  if (!fs::exists(path)) return nullptr;
  try {
    return core::read_json(path);
  } catch (const std::exception&) {
    return nullptr;  // a damaged record means "not done"
  }
}

static std::string combined_sha(const nlohmann::json& hashes) {
  return core::sha256_hex(hashes.dump());
}

// True when the record matches the key and the outputs on disk are the ones it recorded.
static bool still_valid(const fs::path& run_dir, const StageSpec& spec,
                        const nlohmann::json& done) {
  if (!done.is_object() || done.value("key_sha256", "") != core::sha256_hex(spec.key.dump()))
    return false;
  const auto& hashes = done.value("outputs", nlohmann::json::object());
  for (const auto& out : spec.outputs) {
    const fs::path path = run_dir / out;
    if (!hashes.contains(out) || !fs::exists(path)) return false;
    if (hashes[out].get<std::string>() != output_sha256(path)) return false;
  }
  return true;
}

StageOutcome run_stage(const fs::path& run_dir, const StageSpec& spec, const StageBody& body) {
  StageOutcome outcome;
  outcome.name = spec.name;
  const auto done = read_stage_done(run_dir, spec.name);
  if (still_valid(run_dir, spec, done)) {
    outcome.status = "reused";
    outcome.detail = done.value("detail", "");
    outcome.seconds = 0.0;
    outcome.outputs_sha256 = done.value("outputs_sha256", "");
    return outcome;
  }
  const auto start = std::chrono::steady_clock::now();
  const fs::path tmp = run_dir / "stages" / (spec.name + ".partial");
  fs::remove_all(tmp);
  fs::remove(done_path(run_dir, spec.name));
  fs::create_directories(tmp);
  outcome.detail = body(tmp);

  nlohmann::json hashes = nlohmann::json::object();
  for (const auto& out : spec.outputs) {
    const fs::path from = tmp / out;
    LETHE_CHECK(fs::exists(from), "stage ", spec.name, " did not produce ", out);
    const fs::path to = run_dir / out;
    fs::create_directories(to.parent_path());
    fs::remove_all(to);  // a stale output of an older config
    fs::rename(from, to);
    hashes[out] = output_sha256(to);
  }
  fs::remove_all(tmp);
  outcome.status = "done";
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.outputs_sha256 = combined_sha(hashes);
  nlohmann::json record = {{"stage", spec.name},
                           {"key_sha256", core::sha256_hex(spec.key.dump())},
                           {"key", spec.key},
                           {"outputs", hashes},
                           {"outputs_sha256", outcome.outputs_sha256},
                           {"detail", outcome.detail},
                           {"seconds", outcome.seconds}};
  core::write_json(done_path(run_dir, spec.name), record);
  return outcome;
}

}  // namespace lethe::pipeline
