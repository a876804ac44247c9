// The resumable state of a training run under OUT/checkpoints/: step-N folders (trainable weights,
// optimizer state, trainer_state.json), `latest`, the fingerprint that ties a checkpoint to its
// options and data, and metrics.jsonl cut back on resume. Not here: the reference cache
// (train/reference_cache.h), which lives in the same folder.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "train/adamw.h"
#include "train/trainer.h"

namespace lethe::train {

// Where a run stands after an optimizer step: trainer_state.json of a checkpoint.
struct TrainerState {
  int64_t step = 0;         // optimizer steps done
  int64_t epoch = 0;        // the epoch to continue in
  int64_t micro = 0;        // the next micro-batch of `epoch`
  double loss = 0.0;        // mean loss of the last step
  int64_t total_steps = 0;  // written for readers; a resumed run recomputes its own
  std::string fingerprint;  // run_fingerprint of the run that wrote it
  int64_t stop_step = 0;    // > 0: the run ended here because its stop criterion was met
};

// SHA-256 of what determines the trajectory: the options (not the saving / logging ones), the
// trainable parameters' names and shapes, and every example's ids and loss mask.
std::string run_fingerprint(const TrainOptions& options, const NamedParameters& trainable,
                            const TrainData& data);

class Checkpointer {
 public:
  explicit Checkpointer(std::filesystem::path dir) : dir_(std::move(dir)) {}  // OUT/checkpoints
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path reference_path() const { return dir_ / "reference.safetensors"; }

  // Writes step-N/ as one folder (core::write_dir_atomic), then points `latest` at it and deletes
  // all but the newest `keep` step folders.
  void save(const NamedParameters& trainable, const AdamW& optimizer, const TrainerState& state,
            int64_t keep) const;
  // The folder `latest` names; unset when there is none. Throws "cannot resume: ..." when corrupt.
  std::optional<std::filesystem::path> latest() const;
  // Loads a checkpoint into the trainable parameters and the optimizer. Throws lethe::Error
  // starting "cannot resume from FOLDER" when it is corrupt, mis-shaped or was made with another
  // fingerprint.
  TrainerState restore(const std::filesystem::path& from, const std::string& fingerprint,
                       const NamedParameters& trainable, AdamW& optimizer) const;

 private:
  std::filesystem::path dir_;
};

// Keeps the lines of metrics.jsonl with step <= last_step (atomically; no file: nothing).
void truncate_metrics(const std::filesystem::path& path, int64_t last_step);

}  // namespace lethe::train
