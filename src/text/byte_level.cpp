// GPT-2 byte <-> unicode mapping and small UTF-8 helpers.
#include "text/byte_level.h"

namespace lethe::text {

namespace {

struct ByteTables {
  std::array<char32_t, 256> to_cp{};
  std::array<std::string, 256> to_utf8;
  std::array<int, 512> from_cp{};  // code point (< 512) -> byte, -1 when unmapped
};

const ByteTables& tables() {
  static const ByteTables t = [] {
    ByteTables t;
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int n = 0;
    for (int b = 0; b < 256; ++b) t.to_cp[b] = printable(b) ? char32_t(b) : char32_t(256 + n++);
    t.from_cp.fill(-1);
    for (int b = 0; b < 256; ++b) {
      append_utf8(t.to_cp[b], &t.to_utf8[b]);
      t.from_cp[t.to_cp[b]] = b;
    }
    return t;
  }();
  return t;
}

// Decodes one UTF-8 sequence at text[i]; returns its length (0 when ill-formed) and sets *cp.
size_t decode_utf8(std::string_view text, size_t i, char32_t* cp) {
  auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  char32_t value;
  char32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, value = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, value = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, value = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    auto d = static_cast<unsigned char>(text[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    value = (value << 6) | (d & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return len;
}

}  // namespace

char32_t byte_to_code_point(unsigned char b) { return tables().to_cp[b]; }

const std::array<std::string, 256>& byte_to_utf8() { return tables().to_utf8; }

std::string bytes_to_byte_level(std::string_view bytes) {
  const auto& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += t.to_utf8[b];
  return out;
}

bool byte_level_to_bytes(std::string_view text, std::string* out) {
  const auto& t = tables();
  out->clear();
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    size_t len = decode_utf8(text, i, &cp);
    if (len == 0 || cp >= 512 || t.from_cp[cp] < 0) return false;
    out->push_back(static_cast<char>(t.from_cp[cp]));
    i += len;
  }
  return true;
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    char32_t cp;
    size_t len = decode_utf8(bytes, i, &cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      // One U+FFFD per broken sequence: a lead byte and the continuation bytes that follow it.
      size_t skip = 1;
      auto c = static_cast<unsigned char>(bytes[i]);
      size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 1;
      while (skip < want && i + skip < bytes.size() &&
             (static_cast<unsigned char>(bytes[i + skip]) & 0xC0) == 0x80)
        ++skip;
      i += skip;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  return out;
}

size_t find_invalid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    size_t len = decode_utf8(text, i, &cp);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace lethe::text
