// ROUGE as the `rouge` PyPI package computes it (pltrdy/rouge, Rouge().get_scores with its
// defaults, the definition RWKU reports): case-sensitive, no stemming, n-grams and LCS words
// counted as sets. Not rouge_score's semantics (those are rouge.h).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "eval/rouge.h"

namespace lethe::eval {

// rouge.py: text.split(".") -> the non-empty pieces, each with its whitespace runs collapsed to one
// space (" ".join(piece.split())), then split on " " (a piece of only spaces gives one "" word).
std::vector<std::vector<std::string>> pltrdy_sentences(std::string_view text);

// rouge_score.rouge_l_summary_level: the union over reference sentences of the words of
// LCS(reference sentence, hypothesis sentence) (_recon_lcs, its tie-breaking) as a set;
// R = |union| / |set(reference words)|, P = |union| / |set(hypothesis words)|,
// F = 2 P R / (P + R + 1e-8). All 0 when either text has no sentence (the package raises).
RougeScore pltrdy_rouge_l(std::string_view reference, std::string_view hypothesis);

// rouge_score.rouge_n: the sets of word n-grams of all sentences concatenated; overlap = the size
// of their intersection; P = overlap / |hyp set| (0 if empty), R = overlap / |ref set|,
// F = 2 P R / (P + R + 1e-8).
RougeScore pltrdy_rouge_n(std::string_view reference, std::string_view hypothesis, int n);

}  // namespace lethe::eval
