// Generation health: repetition rate (Welleck et al. 2019, seq-rep-n) and distinct-n (Li et al.
// 2016) over a set of generations, so a collapsed model ("the the the ...") is visible at a glance.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace lethe::eval {

using TokenSequence = std::vector<std::string>;

// Lowercased whitespace-separated words: the default tokens of the health metrics on text.
TokenSequence health_tokens(std::string_view text);

// seq-rep-n of one generation: 1 - #distinct n-grams / #n-grams (0 when it has no n-gram).
double repetition_rate(const TokenSequence& tokens, int n);

// Mean seq-rep-n over generations (n = 2 by default in reports); 0 for an empty set.
double repetition_rate(const std::vector<TokenSequence>& generations, int n);

// distinct-n: #distinct n-grams over all generations / #n-grams over all generations (0 if none).
double distinct_n(const std::vector<TokenSequence>& generations, int n);

}  // namespace lethe::eval
