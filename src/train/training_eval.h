// Evaluation during training (`lethe unlearn --eval-every N`): the named values an evaluation
// yields, their metrics.jsonl row, and the evaluation of forget / retain QA questions through
// eval::Evaluator (ROUGE-L recall of greedy answers, answer probability). Not here: when the
// trainer evaluates and stops (train/trainer.cpp), the criterion grammar (train/stop_criterion.h).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/batching.h"
#include "eval/results_schema.h"
#include "model/causal_lm.h"
#include "text/tokenizer.h"

namespace lethe::train {

// The keys of an evaluation (and of --stop-when), spelled once in eval/results_schema.h.
namespace eval_key {
inline constexpr const char* kStep = eval::schema::kStep;
inline constexpr const char* kForgetRougeL =
    eval::schema::kTrainForgetRougeL;  // mean ROUGE-L recall
inline constexpr const char* kForgetAnswerProb = eval::schema::kTrainForgetAnswerProb;
inline constexpr const char* kRetainRougeL = eval::schema::kTrainRetainRougeL;
inline constexpr const char* kRetainAnswerProb = eval::schema::kTrainRetainAnswerProb;
}  // namespace eval_key

// Every key a stop criterion may name, in row order.
const std::vector<std::string>& training_eval_keys();

using EvalValues = std::map<std::string, double>;
// Evaluates the model as it is now (the trainer calls it in eval mode and restores train mode).
using StepEvaluator = std::function<EvalValues()>;

// The metrics.jsonl row of one evaluation: {"kind": "eval", "step", "epoch", the values, "eval_s",
// and "stop_met" when a criterion is set}. Loss rows carry no "kind".
nlohmann::json eval_row(int64_t step, double epoch, const EvalValues& values, double eval_seconds,
                        std::optional<bool> stop_met);
bool is_eval_row(const nlohmann::json& row);

// The evaluation of the first `limit` (0: all) forget and retain questions with eval::Evaluator's
// rouge_l and answer_prob metrics, rendered with `system` as the training data is: forget_* keys,
// retain_* keys when `retain` has questions, forget_n / retain_n. `tokenizer` must outlive it.
StepEvaluator qa_step_evaluator(model::CausalLM model, const text::Tokenizer& tokenizer,
                                std::vector<int64_t> eos_token_ids,
                                const std::vector<data::QaRecord>& forget,
                                const std::vector<data::QaRecord>& retain, int64_t limit,
                                int64_t max_new_tokens,
                                const std::optional<std::string>& system = std::nullopt);

}  // namespace lethe::train
