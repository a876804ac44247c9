// ROUGE-L and ROUGE-N with the semantics of Google's rouge_score (RougeScorer(use_stemmer=True)),
// the definition TOFU and open-unlearning report. Sentence-level ROUGE-L only (not rougeLsum).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace lethe::eval {

struct RougeScore {
  double precision = 0.0;
  double recall = 0.0;
  double fmeasure = 0.0;
};

// rouge_score.tokenize: lowercase, every run outside [a-z0-9] -> one space, split on whitespace,
// Porter-stem (NLTK) tokens longer than 3 characters when `stem`. Input is UTF-8.
std::vector<std::string> rouge_tokenize(std::string_view text, bool stem = true);

// LCS-based ROUGE-L: P = LCS / |prediction|, R = LCS / |target|, F = 2PR / (P + R); all 0 when
// either side has no token.
RougeScore rouge_l(const std::vector<std::string>& target,
                   const std::vector<std::string>& prediction);
RougeScore rouge_l(std::string_view target, std::string_view prediction, bool stem = true);

// ROUGE-N: clipped n-gram overlap; P = overlap / max(#pred n-grams, 1), R = overlap / max(#target
// n-grams, 1).
RougeScore rouge_n(const std::vector<std::string>& target,
                   const std::vector<std::string>& prediction, int n);
RougeScore rouge_n(std::string_view target, std::string_view prediction, int n, bool stem = true);

}  // namespace lethe::eval
