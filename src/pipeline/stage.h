// Resumable pipeline stages: a stage writes into a private temp folder that mirrors the run folder,
// its outputs are renamed into place, and RUN/stages/NAME/stage_done.json records the sha256 of its
// inputs + config and of every output, so re-running the same command reuses it.
#pragma once
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::pipeline {

// What happened to one stage of a run.
struct StageOutcome {
  std::string name;
  std::string status;  // done | reused | unavailable | failed
  std::string detail;  // one line: what it produced, or why not
  double seconds = 0.0;
  std::string outputs_sha256;  // hash over the outputs' hashes (the next stages' input key)
};

struct StageSpec {
  std::string name;  // "finetune"
  std::vector<std::string>
      outputs;         // run-relative files / folders it writes ("data", "results/x.json")
  nlohmann::json key;  // config section + input hashes; any change re-runs the stage
};

// Writes the stage's outputs under `tmp` (same relative paths as in the run folder) and returns a
// one-line detail. `tmp` is empty on a fresh start.
using StageBody = std::function<std::string(const std::filesystem::path& tmp)>;

// Reuses the stage when RUN/stages/NAME/stage_done.json holds the same key and every listed output
// still has its recorded hash; otherwise runs `body` in RUN/stages/NAME.partial/ and renames the
// outputs into place (a missing output is an error). Throws what `body` throws.
StageOutcome run_stage(const std::filesystem::path& run_dir, const StageSpec& spec,
                       const StageBody& body);

// The record of a finished stage, or null when there is none.
nlohmann::json read_stage_done(const std::filesystem::path& run_dir, const std::string& name);

// sha256 of a file or (sha256_tree) a folder.
std::string output_sha256(const std::filesystem::path& path);

}  // namespace lethe::pipeline
