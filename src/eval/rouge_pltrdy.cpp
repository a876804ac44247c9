// pltrdy/rouge (rouge/rouge.py + rouge/rouge_score.py) ported: sentence split, set n-grams, the
// reconstructed LCS and its union, with the package's floating-point expressions.
#include "eval/rouge_pltrdy.h"

#include <set>

#include "core/error.h"

namespace lethe::eval {

namespace {

bool py_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::vector<std::string> words_of(const std::vector<std::vector<std::string>>& sentences) {
  std::vector<std::string> out;
  for (const auto& s : sentences) out.insert(out.end(), s.begin(), s.end());
  return out;
}

// _recon_lcs(x, y): the words of one LCS of x and y, walked back from the end of the table.
std::vector<std::string> recon_lcs(const std::vector<std::string>& x,
                                   const std::vector<std::string>& y) {
  const size_t n = x.size(), m = y.size();
  std::vector<std::vector<size_t>> table(n + 1, std::vector<size_t>(m + 1, 0));
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j)
      table[i][j] = x[i - 1] == y[j - 1] ? table[i - 1][j - 1] + 1
                                         : std::max(table[i - 1][j], table[i][j - 1]);
  std::vector<std::string> reversed;
  for (size_t i = n, j = m; i > 0 && j > 0;) {
    if (x[i - 1] == y[j - 1]) {
      reversed.push_back(x[i - 1]);
      --i, --j;
    } else if (table[i - 1][j] > table[i][j - 1]) {
      --i;
    } else {
      --j;
    }
  }
  return {reversed.rbegin(), reversed.rend()};
}

RougeScore scores(double overlap, double hyp_count, double ref_count) {
  RougeScore s;
  s.precision = hyp_count == 0 ? 0.0 : overlap / hyp_count;
  s.recall = ref_count == 0 ? 0.0 : overlap / ref_count;
  s.fmeasure = 2.0 * ((s.precision * s.recall) / (s.precision + s.recall + 1e-8));
  return s;
}

}  // namespace

std::vector<std::vector<std::string>> pltrdy_sentences(std::string_view text) {
  std::vector<std::vector<std::string>> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('.', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view piece = text.substr(begin, end - begin);
    begin = end + 1;
    if (piece.empty()) continue;
    std::vector<std::string> words;
    std::string word;
    for (char c : piece) {
      if (py_space(c)) {
        if (!word.empty()) words.push_back(std::move(word));
        word.clear();
      } else {
        word.push_back(c);
      }
    }
    if (!word.empty()) words.push_back(std::move(word));
    if (words.empty()) words.push_back("");  // "".split(" ") == [""]
    out.push_back(std::move(words));
  }
  return out;
}

RougeScore pltrdy_rouge_l(std::string_view reference, std::string_view hypothesis) {
  const auto ref = pltrdy_sentences(reference), hyp = pltrdy_sentences(hypothesis);
  if (ref.empty() || hyp.empty()) return {};
  const auto ref_words = words_of(ref), hyp_words = words_of(hyp);
  const std::set<std::string> ref_set(ref_words.begin(), ref_words.end());
  const std::set<std::string> hyp_set(hyp_words.begin(), hyp_words.end());
  std::set<std::string> lcs_union;
  for (const auto& r : ref)
    for (const auto& h : hyp)
      for (auto& w : recon_lcs(r, h)) lcs_union.insert(std::move(w));
  const double llcs = static_cast<double>(lcs_union.size());
  RougeScore s;
  s.recall = llcs / static_cast<double>(ref_set.size());
  s.precision = llcs / static_cast<double>(hyp_set.size());
  s.fmeasure = 2.0 * ((s.precision * s.recall) / (s.precision + s.recall + 1e-8));
  return s;
}

RougeScore pltrdy_rouge_n(std::string_view reference, std::string_view hypothesis, int n) {
  LETHE_CHECK(n >= 1, "pltrdy_rouge_n: n must be >= 1, got ", n);
  const auto ref = pltrdy_sentences(reference), hyp = pltrdy_sentences(hypothesis);
  if (ref.empty() || hyp.empty()) return {};
  const auto ngrams = [n](const std::vector<std::string>& words) {
    std::set<std::vector<std::string>> out;
    for (size_t i = 0; i + n <= words.size(); ++i)
      out.emplace(words.begin() + i, words.begin() + i + n);
    return out;
  };
  const auto ref_ngrams = ngrams(words_of(ref)), hyp_ngrams = ngrams(words_of(hyp));
  size_t overlap = 0;
  for (const auto& g : hyp_ngrams) overlap += ref_ngrams.count(g);
  return scores(static_cast<double>(overlap), static_cast<double>(hyp_ngrams.size()),
                static_cast<double>(ref_ngrams.size()));
}

}  // namespace lethe::eval
