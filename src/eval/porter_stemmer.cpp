// Porter (1980) "An algorithm for suffix stripping", as implemented by nltk/stem/porter.py
// (NLTK_EXTENSIONS). Each helper mirrors the NLTK method of the same name, including its quirks
// (the logi and ll conditions).
#include "eval/porter_stemmer.h"

#include <cctype>
#include <functional>
#include <unordered_map>
#include <vector>

namespace lethe::eval {

namespace {

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

bool is_consonant(const std::string& word, size_t i) {
  if (is_vowel(word[i])) return false;
  if (word[i] == 'y') return i == 0 ? true : !is_consonant(word, i - 1);
  return true;
}

// m in [C](VC)^m[V]: the number of "vc" pairs in the consonant/vowel pattern.
int measure(const std::string& stem) {
  int m = 0;
  bool prev_vowel = false;
  for (size_t i = 0; i < stem.size(); ++i) {
    bool consonant = is_consonant(stem, i);
    if (consonant && prev_vowel) ++m;
    prev_vowel = !consonant;
  }
  return m;
}

bool has_positive_measure(const std::string& stem) { return measure(stem) > 0; }

bool contains_vowel(const std::string& stem) {
  for (size_t i = 0; i < stem.size(); ++i)
    if (!is_consonant(stem, i)) return true;
  return false;
}

bool ends_with(const std::string& word, std::string_view suffix) {
  return word.size() >= suffix.size() &&
         word.compare(word.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string drop_suffix(const std::string& word, size_t n) {
  return word.substr(0, word.size() - n);
}

bool ends_double_consonant(const std::string& word) {
  size_t n = word.size();
  return n >= 2 && word[n - 1] == word[n - 2] && is_consonant(word, n - 1);
}

// *o: cvc where the last c is not w, x or y; NLTK also accepts a 2-letter vc word.
bool ends_cvc(const std::string& word) {
  size_t n = word.size();
  if (n >= 3 && is_consonant(word, n - 3) && !is_consonant(word, n - 2) &&
      is_consonant(word, n - 1) && word[n - 1] != 'w' && word[n - 1] != 'x' && word[n - 1] != 'y')
    return true;
  return n == 2 && !is_consonant(word, 0) && is_consonant(word, 1);
}

using Condition = std::function<bool(const std::string&)>;

struct Rule {
  std::string suffix;  // "*d" = ends in a double consonant
  std::string replacement;
  Condition condition;  // empty = always
};

// _apply_rule_list: the first rule whose suffix matches decides (applies or leaves the word).
std::string apply_rule_list(const std::string& word, const std::vector<Rule>& rules) {
  for (const auto& rule : rules) {
    if (rule.suffix == "*d" && ends_double_consonant(word)) {
      std::string stem = drop_suffix(word, 2);
      if (!rule.condition || rule.condition(stem)) return stem + rule.replacement;
      return word;
    }
    if (ends_with(word, rule.suffix)) {
      std::string stem = drop_suffix(word, rule.suffix.size());
      if (!rule.condition || rule.condition(stem)) return stem + rule.replacement;
      return word;
    }
  }
  return word;
}

std::string step1a(const std::string& word) {
  if (ends_with(word, "ies") && word.size() == 4) return drop_suffix(word, 3) + "ie";
  return apply_rule_list(word,
                         {{"sses", "ss", {}}, {"ies", "i", {}}, {"ss", "ss", {}}, {"s", "", {}}});
}

std::string step1b(const std::string& word) {
  if (ends_with(word, "ied")) return drop_suffix(word, 3) + (word.size() == 4 ? "ie" : "i");
  if (ends_with(word, "eed")) {
    std::string stem = drop_suffix(word, 3);
    return measure(stem) > 0 ? stem + "ee" : word;
  }
  std::string intermediate;
  bool rule_2_or_3_succeeded = false;
  for (std::string_view suffix : {"ed", "ing"}) {
    if (ends_with(word, suffix)) {
      intermediate = drop_suffix(word, suffix.size());
      if (contains_vowel(intermediate)) {
        rule_2_or_3_succeeded = true;
        break;
      }
    }
  }
  if (!rule_2_or_3_succeeded) return word;
  char last = intermediate.back();
  return apply_rule_list(
      intermediate,
      {{"at", "ate", {}},
       {"bl", "ble", {}},
       {"iz", "ize", {}},
       {"*d", std::string(1, last),
        [last](const std::string&) { return last != 'l' && last != 's' && last != 'z'; }},
       {"", "e", [](const std::string& stem) { return measure(stem) == 1 && ends_cvc(stem); }}});
}

std::string step1c(const std::string& word) {
  return apply_rule_list(word, {{"y", "i", [](const std::string& stem) {
                                   return stem.size() > 1 && is_consonant(stem, stem.size() - 1);
                                 }}});
}

std::string step2(const std::string& word) {
  if (ends_with(word, "alli") && has_positive_measure(drop_suffix(word, 4)))
    return step2(drop_suffix(word, 4) + "al");
  const Condition m_pos = has_positive_measure;
  return apply_rule_list(word, {{"ational", "ate", m_pos},
                                {"tional", "tion", m_pos},
                                {"enci", "ence", m_pos},
                                {"anci", "ance", m_pos},
                                {"izer", "ize", m_pos},
                                {"bli", "ble", m_pos},
                                {"alli", "al", m_pos},
                                {"entli", "ent", m_pos},
                                {"eli", "e", m_pos},
                                {"ousli", "ous", m_pos},
                                {"ization", "ize", m_pos},
                                {"ation", "ate", m_pos},
                                {"ator", "ate", m_pos},
                                {"alism", "al", m_pos},
                                {"iveness", "ive", m_pos},
                                {"fulness", "ful", m_pos},
                                {"ousness", "ous", m_pos},
                                {"aliti", "al", m_pos},
                                {"iviti", "ive", m_pos},
                                {"biliti", "ble", m_pos},
                                {"fulli", "ful", m_pos},
                                // NLTK tests the word minus "ogi", not the stem minus "logi".
                                {"logi", "log", [&word](const std::string&) {
                                   return has_positive_measure(drop_suffix(word, 3));
                                 }}});
}

std::string step3(const std::string& word) {
  const Condition m_pos = has_positive_measure;
  return apply_rule_list(word, {{"icate", "ic", m_pos},
                                {"ative", "", m_pos},
                                {"alize", "al", m_pos},
                                {"iciti", "ic", m_pos},
                                {"ical", "ic", m_pos},
                                {"ful", "", m_pos},
                                {"ness", "", m_pos}});
}

std::string step4(const std::string& word) {
  const Condition m_gt1 = [](const std::string& stem) { return measure(stem) > 1; };
  return apply_rule_list(word, {{"al", "", m_gt1},
                                {"ance", "", m_gt1},
                                {"ence", "", m_gt1},
                                {"er", "", m_gt1},
                                {"ic", "", m_gt1},
                                {"able", "", m_gt1},
                                {"ible", "", m_gt1},
                                {"ant", "", m_gt1},
                                {"ement", "", m_gt1},
                                {"ment", "", m_gt1},
                                {"ent", "", m_gt1},
                                {"ion", "",
                                 [](const std::string& stem) {
                                   return measure(stem) > 1 && !stem.empty() &&
                                          (stem.back() == 's' || stem.back() == 't');
                                 }},
                                {"ou", "", m_gt1},
                                {"ism", "", m_gt1},
                                {"ate", "", m_gt1},
                                {"iti", "", m_gt1},
                                {"ous", "", m_gt1},
                                {"ive", "", m_gt1},
                                {"ize", "", m_gt1}});
}

std::string step5a(const std::string& word) {
  if (ends_with(word, "e")) {
    std::string stem = drop_suffix(word, 1);
    int m = measure(stem);
    if (m > 1) return stem;
    if (m == 1 && !ends_cvc(stem)) return stem;
  }
  return word;
}

std::string step5b(const std::string& word) {
  return apply_rule_list(
      word,
      {{"ll", "l", [&word](const std::string&) { return measure(drop_suffix(word, 1)) > 1; }}});
}

const std::unordered_map<std::string, std::string>& irregular_forms() {
  static const std::unordered_map<std::string, std::string> pool = {
      {"sky", "sky"},        {"skies", "sky"},        {"dying", "die"},
      {"lying", "lie"},      {"tying", "tie"},        {"news", "news"},
      {"innings", "inning"}, {"inning", "inning"},    {"outings", "outing"},
      {"outing", "outing"},  {"cannings", "canning"}, {"canning", "canning"},
      {"howe", "howe"},      {"proceed", "proceed"},  {"exceed", "exceed"},
      {"succeed", "succeed"}};
  return pool;
}

}  // namespace

std::string porter_stem(std::string_view word_view) {
  // NLTK looks the word up before lowercasing it, and stems the lowercased word.
  std::string word(word_view);
  auto it = irregular_forms().find(word);
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (it != irregular_forms().end()) return it->second;
  if (word.size() <= 2) return word;
  std::string stem = step1a(word);
  stem = step1b(stem);
  stem = step1c(stem);
  stem = step2(stem);
  stem = step3(stem);
  stem = step4(stem);
  stem = step5a(stem);
  stem = step5b(stem);
  return stem;
}

}  // namespace lethe::eval
