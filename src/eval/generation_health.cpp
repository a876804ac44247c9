// n-gram counting for repetition rate and distinct-n.
#include "eval/generation_health.h"

#include <cctype>
#include <set>

#include "core/error.h"

namespace lethe::eval {

namespace {

// Appends the n-grams of `tokens` (joined by a byte that whitespace tokens never contain).
size_t collect_ngrams(const TokenSequence& tokens, int n, std::set<std::string>& ngrams) {
  LETHE_CHECK(n >= 1, "n-gram size must be >= 1, got ", n);
  if (tokens.size() < static_cast<size_t>(n)) return 0;
  size_t total = 0;
  for (size_t i = 0; i + n <= tokens.size(); ++i, ++total) {
    std::string key;
    for (int k = 0; k < n; ++k) key.append(tokens[i + k]).push_back('\x1f');
    ngrams.insert(std::move(key));
  }
  return total;
}

}  // namespace

TokenSequence health_tokens(std::string_view text) {
  TokenSequence tokens;
  std::string current;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!current.empty()) tokens.push_back(std::move(current)), current.clear();
    } else {
      current.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

double repetition_rate(const TokenSequence& tokens, int n) {
  std::set<std::string> ngrams;
  size_t total = collect_ngrams(tokens, n, ngrams);
  return total == 0 ? 0.0 : 1.0 - static_cast<double>(ngrams.size()) / static_cast<double>(total);
}

double repetition_rate(const std::vector<TokenSequence>& generations, int n) {
  if (generations.empty()) return 0.0;
  double sum = 0.0;
  for (const auto& g : generations) sum += repetition_rate(g, n);
  return sum / static_cast<double>(generations.size());
}

double distinct_n(const std::vector<TokenSequence>& generations, int n) {
  std::set<std::string> ngrams;
  size_t total = 0;
  for (const auto& g : generations) total += collect_ngrams(g, n, ngrams);
  return total == 0 ? 0.0 : static_cast<double>(ngrams.size()) / static_cast<double>(total);
}

}  // namespace lethe::eval
