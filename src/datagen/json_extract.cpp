// Bracket matching that skips string literals (and their escapes), then nlohmann's strict parser.
#include "datagen/json_extract.h"

namespace lethe::datagen {

namespace {

// Index one past the bracket closing the one at `open`, or npos when the text ends first.
size_t match_bracket(const std::string& text, size_t open) {
  std::string stack;
  bool in_string = false, escaped = false;
  for (size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      stack.push_back(c == '{' ? '}' : ']');
    } else if (c == '}' || c == ']') {
      if (stack.empty() || stack.back() != c) return std::string::npos;
      stack.pop_back();
      if (stack.empty()) return i + 1;
    }
  }
  return std::string::npos;
}

}  // namespace

std::optional<nlohmann::json> extract_json(const std::string& text) {
  auto whole = nlohmann::json::parse(text, nullptr, false);
  if (!whole.is_discarded() && (whole.is_object() || whole.is_array())) return whole;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{' && text[i] != '[') continue;
    size_t end = match_bracket(text, i);
    if (end == std::string::npos) continue;
    auto value = nlohmann::json::parse(text.begin() + i, text.begin() + end, nullptr, false);
    if (!value.is_discarded()) return value;
  }
  return std::nullopt;
}

}  // namespace lethe::datagen
