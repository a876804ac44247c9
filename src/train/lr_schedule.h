// Learning-rate schedules with warm-up, as Hugging Face transformers' get_scheduler computes them
// (constant, linear, cosine); the schedule is a pure function of the optimizer step, so resuming
// needs no state.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lethe::train {

enum class ScheduleKind { constant, linear, cosine };
std::string schedule_name(ScheduleKind kind);
// "constant" | "linear" | "cosine"; throws lethe::UsageError listing the valid names.
ScheduleKind parse_schedule(const std::string& name);
const std::vector<std::string>& schedule_names();

struct LrScheduleOptions {
  ScheduleKind kind = ScheduleKind::constant;
  double lr = 1e-4;           // peak learning rate, > 0
  int64_t warmup_steps = 0;   // used when > 0, else warmup_ratio
  double warmup_ratio = 0.0;  // warm-up steps = ceil(ratio * total_steps), HF's rule
  double min_lr_ratio =
      0.0;  // cosine / linear decay floor as a fraction of lr (HF cosine_with_min_lr)
};

class LrSchedule {
 public:
  // Validates the options (lr > 0, ratios in [0, 1], total_steps > 0); throws lethe::Error.
  LrSchedule(const LrScheduleOptions& options, int64_t total_steps);

  // The learning rate of the update made after `step` completed updates (0-based, HF's
  // lr_lambda(step)): warm-up lr * step / warmup (so step 0 of a warm-up has lr 0, as in HF), then
  // constant: lr; linear: lr * (total - step) / (total - warmup); cosine: lr * (1 + cos(pi *
  // progress)) / 2, both floored at min_lr_ratio * lr.
  double lr_at(int64_t step) const;

  int64_t warmup_steps() const { return warmup_steps_; }
  int64_t total_steps() const { return total_steps_; }

 private:
  LrScheduleOptions options_;
  int64_t total_steps_;
  int64_t warmup_steps_;
};

}  // namespace lethe::train
