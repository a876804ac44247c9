// GPT-2's byte-to-unicode mapping used by byte-level BPE: every byte becomes one printable code
// point (so a token is a printable string), and back. Does not split or merge anything.
#pragma once
#include <array>
#include <string>
#include <string_view>

namespace lethe::text {

// The code point byte b maps to (GPT-2 `bytes_to_unicode`): printable Latin-1 bytes map to
// themselves, the others to U+0100 + k in byte order ("Ġ" for space, "Ċ" for newline).
char32_t byte_to_code_point(unsigned char b);

// The UTF-8 encoding of byte_to_code_point(b) for all 256 bytes.
const std::array<std::string, 256>& byte_to_utf8();

// Maps raw bytes to their byte-level string ("a b" -> "aĠb").
std::string bytes_to_byte_level(std::string_view bytes);

// The inverse: a byte-level string back to raw bytes. Returns false when `text` holds a code point
// outside the mapping (e.g. an added token's content), leaving `out` unspecified.
bool byte_level_to_bytes(std::string_view text, std::string* out);

// Appends the UTF-8 encoding of `cp` to `out`.
void append_utf8(char32_t cp, std::string* out);

// Replaces ill-formed UTF-8 sequences by U+FFFD (as Python's bytes.decode(errors="replace") does).
std::string sanitize_utf8(std::string_view bytes);

// The byte offset of the first ill-formed UTF-8 sequence, or npos when `text` is valid UTF-8.
size_t find_invalid_utf8(std::string_view text);

}  // namespace lethe::text
