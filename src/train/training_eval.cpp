// Evaluation rows of a training run and the forget / retain QA evaluation behind --eval-every: an
// in-memory dataset of the run's QA records fed to eval::Evaluator with only the metrics rouge_l
// and answer_prob enabled, so the numbers are those `lethe eval` reports.
#include "train/training_eval.h"

#include <chrono>
#include <memory>

#include "core/error.h"
#include "data/dataset.h"
#include "eval/evaluator.h"
#include "eval/results_schema.h"

namespace lethe::train {

using nlohmann::json;

const std::vector<std::string>& training_eval_keys() {
  static const std::vector<std::string> keys = {
      eval_key::kStep, eval_key::kForgetRougeL, eval_key::kForgetAnswerProb,
      eval_key::kRetainRougeL, eval_key::kRetainAnswerProb};
  return keys;
}

json eval_row(int64_t step, double epoch, const EvalValues& values, double eval_seconds,
              std::optional<bool> stop_met) {
  namespace k = eval::schema;
  json row = {{k::kRowKind, k::kEvalRow}, {k::kStep, step}, {"epoch", epoch}};
  for (const auto& [key, value] : values)
    if (!row.contains(key)) row[key] = value;
  row["eval_s"] = eval_seconds;
  if (stop_met) row[k::kStopMet] = *stop_met;
  return row;
}

bool is_eval_row(const json& row) {
  namespace k = eval::schema;
  return row.is_object() && row.contains(k::kRowKind) && row[k::kRowKind] == k::kEvalRow;
}

namespace {

// The dataset and the evaluator that points into it, kept together.
struct QaEvalState {
  data::Dataset dataset;
  std::optional<eval::Evaluator> evaluator;
  std::optional<std::string> system;
};

std::vector<data::QAPair> qa_pairs(const std::vector<data::QaRecord>& records, int64_t limit,
                                   data::Subset subset, const std::string& prefix) {
  std::vector<data::QAPair> out;
  for (size_t i = 0; i < records.size(); ++i) {
    if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
    data::QAPair qa;
    qa.id = records[i].id.empty() ? prefix + std::to_string(i) : records[i].id;
    qa.subset = subset;
    qa.question = records[i].question;
    qa.answer = records[i].answer;
    out.push_back(std::move(qa));
  }
  return out;
}

}  // namespace

StepEvaluator qa_step_evaluator(model::CausalLM model, const text::Tokenizer& tokenizer,
                                std::vector<int64_t> eos_token_ids,
                                const std::vector<data::QaRecord>& forget,
                                const std::vector<data::QaRecord>& retain, int64_t limit,
                                int64_t max_new_tokens, const std::optional<std::string>& system) {
  LETHE_CHECK(!forget.empty(), "eval_every: the forget set has no questions to evaluate");
  auto state = std::make_shared<QaEvalState>();
  state->dataset.dir = "training evaluation";
  state->dataset.sf = qa_pairs(forget, limit, data::Subset::forget, "forget_");
  state->dataset.sr = qa_pairs(retain, limit, data::Subset::other, "retain_");
  state->dataset.index();
  state->system = system;
  eval::EvalOptions options;
  options.metrics = {"rouge_l", "answer_prob"};
  options.max_new_tokens = max_new_tokens;
  state->evaluator.emplace(std::move(model), tokenizer, std::move(eos_token_ids), state->dataset,
                           options);
  return [state]() {
    namespace k = eval::schema;
    const eval::ModelEval result =
        state->evaluator->evaluate_current({"training", "", false, false}, state->system);
    const json aggregates = state->evaluator->aggregates(result, nullptr);
    EvalValues values;
    const auto put = [&](const char* key, const char* set, const char* metric) {
      if (auto v = k::set_metric(aggregates, set, metric)) values[key] = *v;
    };
    put(eval_key::kForgetRougeL, k::kForget, k::kRougeLRecall);
    put(eval_key::kForgetAnswerProb, k::kForget, k::kAnswerProb);
    values["forget_n"] = static_cast<double>(result.forget.size());
    if (!result.retain.empty()) {
      put(eval_key::kRetainRougeL, k::kRetain, k::kRougeLRecall);
      put(eval_key::kRetainAnswerProb, k::kRetain, k::kAnswerProb);
      values["retain_n"] = static_cast<double>(result.retain.size());
    }
    return values;
  };
}

}  // namespace lethe::train
