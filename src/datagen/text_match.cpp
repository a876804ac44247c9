// Normalised whole-word matching and the differing span of two answer sentences.
#include "datagen/text_match.h"

#include <cctype>

namespace lethe::datagen {

namespace {
bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }
}  // namespace

std::string normalize_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (unsigned char c : text) {
    if (is_word_byte(c)) {
      if (pending_space && !out.empty()) out += ' ';
      pending_space = false;
      out += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
    } else {
      pending_space = true;
    }
  }
  return out;
}

bool contains_phrase(const std::string& text, const std::string& phrase) {
  std::string t = " " + normalize_text(text) + " ";
  std::string p = normalize_text(phrase);
  if (p.empty()) return false;
  return t.find(" " + p + " ") != std::string::npos;
}

std::string differing_span(const std::string& variant, const std::string& reference) {
  const std::string& a = variant;
  const std::string& b = reference;
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  // Back up to a word boundary so a shared first letter ("Lyon"/"Lagos") stays in the span.
  while (prefix > 0 && is_word_byte(a[prefix - 1])) --prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  while (suffix > 0 && is_word_byte(a[a.size() - suffix])) --suffix;
  std::string span = a.substr(prefix, a.size() - prefix - suffix);
  size_t first = span.find_first_not_of(' ');
  size_t last = span.find_last_not_of(' ');
  return first == std::string::npos ? "" : span.substr(first, last - first + 1);
}

}  // namespace lethe::datagen
