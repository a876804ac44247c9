// Warm-up + constant / linear / cosine learning-rate schedules (Hugging Face transformers
// semantics).
#include "train/lr_schedule.h"

#include <cmath>

#include "core/error.h"

namespace lethe::train {

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = {"constant", "linear", "cosine"};
  return names;
}

std::string schedule_name(ScheduleKind kind) {
  return schedule_names().at(static_cast<size_t>(kind));
}

ScheduleKind parse_schedule(const std::string& name) {
  const auto& names = schedule_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<ScheduleKind>(i);
  throw UsageError("unknown lr schedule '" + name + "' (valid: constant, linear, cosine)");
}

LrSchedule::LrSchedule(const LrScheduleOptions& options, int64_t total_steps)
    : options_(options), total_steps_(total_steps) {
  LETHE_CHECK(std::isfinite(options.lr) && options.lr > 0.0, "learning rate must be positive, got ",
              options.lr);
  LETHE_CHECK(total_steps > 0, "training has no steps (empty data or 0 epochs)");
  LETHE_CHECK(options.warmup_steps >= 0, "warmup_steps must be >= 0, got ", options.warmup_steps);
  LETHE_CHECK(options.warmup_ratio >= 0.0 && options.warmup_ratio <= 1.0,
              "warmup_ratio must be in [0, 1], got ", options.warmup_ratio);
  LETHE_CHECK(options.min_lr_ratio >= 0.0 && options.min_lr_ratio <= 1.0,
              "min_lr_ratio must be in [0, 1], got ", options.min_lr_ratio);
  warmup_steps_ = options.warmup_steps > 0
                      ? options.warmup_steps
                      : static_cast<int64_t>(std::ceil(options.warmup_ratio * total_steps));
}

double LrSchedule::lr_at(int64_t step) const {
  const double lr = options_.lr;
  if (step < warmup_steps_)
    return lr * static_cast<double>(step) /
           static_cast<double>(std::max<int64_t>(1, warmup_steps_));
  if (options_.kind == ScheduleKind::constant) return lr;
  const double floor = options_.min_lr_ratio;
  const double progress = static_cast<double>(step - warmup_steps_) /
                          static_cast<double>(std::max<int64_t>(1, total_steps_ - warmup_steps_));
  double factor = 0.0;
  if (options_.kind == ScheduleKind::linear) {
    factor = std::max(0.0, 1.0 - progress);
  } else {
    factor = std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  }
  return lr * (floor + (1.0 - floor) * factor);
}

}  // namespace lethe::train
