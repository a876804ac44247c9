// Exact memorization: how many answer tokens the model predicts itself under teacher forcing.
// Definition and descriptor (metrics.h); see docs/metrics.md.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace lethe::eval {

// Exact Memorization (Tirumala et al. 2022; open-unlearning src/evals/metrics/memorization.py
// `exact_memorization`): EM = (1/n) sum_t [argmax_v p(v | question, answer_<t) == answer_t] over
// the n answer tokens. `match[t]` is that indicator; nullopt when n = 0 (open-unlearning: None,
// left out of the mean).
std::optional<double> exact_memorization(const std::vector<uint8_t>& match);

// The answer tokens open-unlearning scores: every scored token but the last (its
// tokenwise_vocab_logprobs drops the final label, the end-of-turn / eos prediction).
std::vector<uint8_t> answer_tokens_without_end(const std::vector<uint8_t>& scored);

}  // namespace lethe::eval
