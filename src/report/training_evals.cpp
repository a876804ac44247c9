// The report's view of evaluation during unlearning: per-method summaries (stop step, last values)
// and the forget / retain ROUGE-L curves.
#include "report/training_evals.h"

namespace lethe::report {

namespace {

namespace k = eval::schema;

// The criterion a method's run used, from the sweep configs (sweep_results.json) naming it.
std::string criterion_of(const RunResults& run, const std::string& method) {
  const json* configs = k::at(run.sweep_index, {"configs"});
  if (!configs || !configs->is_array()) return "";
  for (const auto& c : *configs)
    if (c.is_object() && c.value("method", "") == method && c.contains(k::kStopWhen) &&
        c[k::kStopWhen].is_string())
      return c[k::kStopWhen].get<std::string>();
  return "";
}

}  // namespace

std::vector<TrainingEvalSummary> training_eval_summaries(const RunResults& run) {
  std::vector<TrainingEvalSummary> out;
  for (const auto& [method, rows] : run.training_evals) {
    TrainingEvalSummary s;
    s.method = method;
    s.stop_when = criterion_of(run, method);
    const json* at = nullptr;
    for (const auto& row : rows) {
      ++s.evaluations;
      at = &row;
      if (row.value(k::kStopMet, false)) {
        s.stop_step = static_cast<int64_t>(number_at(row, k::kStep).value_or(0));
        break;
      }
    }
    if (at) {
      s.last_step = static_cast<int64_t>(number_at(*at, k::kStep).value_or(0));
      s.forget_rouge_l = number_at(*at, k::kTrainForgetRougeL);
      s.retain_rouge_l = number_at(*at, k::kTrainRetainRougeL);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<Chart> training_eval_chart(const RunResults& run) {
  Chart c("training_eval_curves", "Forget vs retain ROUGE-L during unlearning", "optimizer step",
          "ROUGE-L recall");
  c.yrange = "[0:1.05]";
  int color = 0;
  std::string stops;
  const auto summaries = training_eval_summaries(run);  // one per run.training_evals entry
  for (size_t i = 0; i < summaries.size(); ++i) {
    const TrainingEvalSummary& s = summaries[i];
    const std::vector<json>& rows = run.training_evals[i].second;
    ++color;
    Series forget{s.method + " forget", {}, {}}, retain{s.method + " retain", {}, {}};
    forget.color = retain.color = color;
    retain.dash_type = 2;
    for (const auto& row : rows) {
      const auto step = number_at(row, k::kStep);
      if (!step) continue;
      if (auto f = number_at(row, k::kTrainForgetRougeL)) {
        forget.x.push_back(*step);
        forget.y.push_back(*f);
      }
      if (auto r = number_at(row, k::kTrainRetainRougeL)) {
        retain.x.push_back(*step);
        retain.y.push_back(*r);
      }
    }
    if (!forget.x.empty()) c.series.push_back(forget);
    if (!retain.x.empty()) c.series.push_back(retain);
    if (!s.stop_when.empty())
      stops += (stops.empty() ? "" : "; ") + s.method +
               (s.stop_step ? " met it at step " + std::to_string(*s.stop_step) : " never met it");
  }
  if (c.series.empty()) return std::nullopt;
  c.note = "Solid: forget set, dashed: retain set, on the evaluation subset during training.";
  if (!stops.empty()) c.note += " Stop criterion: " + stops + ".";
  return c;
}

}  // namespace lethe::report
