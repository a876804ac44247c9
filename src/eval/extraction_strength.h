// Extraction strength: how short a prefix of the answer the model needs to produce the rest of it.
// Definition and descriptor (metrics.h); see docs/metrics.md.
#pragma once
#include <cstdint>
#include <vector>

namespace lethe::eval {

// Extraction Strength (Carlini et al. 2021, used for unlearning by Wang et al. 2025, "Towards
// Effective Evaluations and Comparisons for LLM Unlearning Methods"; open-unlearning
// src/evals/metrics/memorization.py `extraction_strength`):
// ES = 1 - k / n, k the smallest k in [0, n) such that the teacher-forced argmax predictions of
// answer tokens k..n-1 all equal the tokens (`match[t]` = that indicator). As in the reference
// loop, k stays at n - 1 when no suffix matches, so ES = 1/n there (the same as when only the
// last token matches); 0 when n = 0.
double extraction_strength(const std::vector<uint8_t>& match);

}  // namespace lethe::eval
