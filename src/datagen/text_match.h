// Text matching shared by the generators and the quality checks: normalisation and whole-word
// phrase search, so "2009" matches "in 2009." but not "20091".
#pragma once
#include <string>

namespace lethe::datagen {

// Lowercase ASCII letters, every run of other non-alphanumeric bytes becomes one space, trimmed.
// Non-ASCII bytes are kept (names with accents still match themselves).
std::string normalize_text(const std::string& text);

// True when the normalised `phrase` occurs in the normalised `text` on word boundaries.
bool contains_phrase(const std::string& text, const std::string& phrase);

// The part of `variant` that differs from `reference` after removing their common prefix and
// suffix, cut at word boundaries: ("In 2011.", "In 2009.") -> "2011".
std::string differing_span(const std::string& variant, const std::string& reference);

}  // namespace lethe::datagen
