// rouge_score (google-research/rouge, rouge_scorer.py + tokenize.py) ported: tokenizer, LCS table,
// n-gram counts, and scoring.fmeasure, with the same floating-point expressions.
#include "eval/rouge.h"

#include <map>

#include "core/error.h"
#include "eval/porter_stemmer.h"

namespace lethe::eval {

namespace {

// Decodes one UTF-8 code point at text[i] (advancing i); malformed bytes decode as U+FFFD.
char32_t next_code_point(std::string_view text, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t len = lead < 0x80           ? 1
               : (lead >> 5) == 0x6  ? 2
               : (lead >> 4) == 0xE  ? 3
               : (lead >> 3) == 0x1E ? 4
                                     : 0;
  if (len == 0 || i + len > text.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? lead : lead & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  i += len;
  return cp;
}

// Python's str.lower() restricted to what survives the [a-z0-9] filter: ASCII, plus the only two
// non-ASCII code points whose lowercase contains an ASCII letter (KELVIN SIGN -> k, U+0130 -> i +
// U+0307).
char lower_alnum_or_space(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return static_cast<char>(cp - 'A' + 'a');
  if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) return static_cast<char>(cp);
  if (cp == 0x212A) return 'k';
  if (cp == 0x130) return 'i';  // the combining dot that follows becomes a separator
  return ' ';
}

}  // namespace

std::vector<std::string> rouge_tokenize(std::string_view text, bool stem) {
  std::vector<std::string> tokens;
  std::string current;
  auto flush = [&] {
    if (current.empty()) return;
    tokens.push_back(stem && current.size() > 3 ? porter_stem(current) : current);
    current.clear();
  };
  for (size_t i = 0; i < text.size();) {
    char32_t cp = next_code_point(text, i);
    char c = lower_alnum_or_space(cp);
    if (c == ' ') {
      flush();
    } else {
      current.push_back(c);
      if (cp == 0x130) flush();  // "İ" lowercases to "i" + U+0307, which ends the token
    }
  }
  flush();
  return tokens;
}

namespace {

// scoring.fmeasure
double fmeasure(double precision, double recall) {
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

}  // namespace

RougeScore rouge_l(const std::vector<std::string>& target,
                   const std::vector<std::string>& prediction) {
  if (target.empty() || prediction.empty()) return {};
  // One row of the LCS table at a time: row[j] = LCS(target[:i], prediction[:j]).
  std::vector<size_t> prev(prediction.size() + 1, 0), row(prediction.size() + 1, 0);
  for (size_t i = 1; i <= target.size(); ++i) {
    for (size_t j = 1; j <= prediction.size(); ++j) {
      row[j] = target[i - 1] == prediction[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], row[j - 1]);
    }
    std::swap(prev, row);
  }
  double lcs = static_cast<double>(prev[prediction.size()]);
  RougeScore score;
  score.precision = lcs / static_cast<double>(prediction.size());
  score.recall = lcs / static_cast<double>(target.size());
  score.fmeasure = fmeasure(score.precision, score.recall);
  return score;
}

RougeScore rouge_l(std::string_view target, std::string_view prediction, bool stem) {
  return rouge_l(rouge_tokenize(target, stem), rouge_tokenize(prediction, stem));
}

RougeScore rouge_n(const std::vector<std::string>& target,
                   const std::vector<std::string>& prediction, int n) {
  LETHE_CHECK(n >= 1, "rouge_n: n must be >= 1, got ", n);
  auto count = [n](const std::vector<std::string>& tokens) {
    std::map<std::vector<std::string>, long> counts;
    for (size_t i = 0; i + n <= tokens.size(); ++i)
      ++counts[std::vector<std::string>(tokens.begin() + i, tokens.begin() + i + n)];
    return counts;
  };
  auto target_counts = count(target), prediction_counts = count(prediction);
  long overlap = 0, target_total = 0, prediction_total = 0;
  for (const auto& [ngram, c] : target_counts) {
    target_total += c;
    auto it = prediction_counts.find(ngram);
    if (it != prediction_counts.end()) overlap += std::min(c, it->second);
  }
  for (const auto& [ngram, c] : prediction_counts) prediction_total += c;
  RougeScore score;
  score.precision =
      static_cast<double>(overlap) / static_cast<double>(std::max(prediction_total, 1L));
  score.recall = static_cast<double>(overlap) / static_cast<double>(std::max(target_total, 1L));
  score.fmeasure = fmeasure(score.precision, score.recall);
  return score;
}

RougeScore rouge_n(std::string_view target, std::string_view prediction, int n, bool stem) {
  return rouge_n(rouge_tokenize(target, stem), rouge_tokenize(prediction, stem), n);
}

}  // namespace lethe::eval
