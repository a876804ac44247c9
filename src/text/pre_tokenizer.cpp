// PCRE2-backed Split pre-tokenizer (behavior "Isolated", invert false).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/pre_tokenizer.h"

#include <pcre2.h>

#include <mutex>

#include "core/error.h"

namespace lethe::text {

const char* const kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const char* const kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

namespace {

// Unicode White_Space, which `\s` means in Oniguruma (HF tokenizers) and Python's `regex` (the slow
// tokenizers). PCRE2's `\s` also matches U+180E (via its Perl-compatible `\h`), which Unicode 6.3
// made a format character, so `\s`/`\S` are rewritten to this explicit set.
const char* const kWhiteSpace =
    R"(\t\n\x0B\f\r\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

std::string rewrite_white_space(const std::string& pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char e = pattern[i + 1];
      ++i;
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (e == 'S' && !in_class) {
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

struct SplitPreTokenizer::Impl {
  pcre2_code* code = nullptr;
  // Match data cannot be shared between threads: a small pool, one block per concurrent caller.
  std::mutex pool_mutex;
  std::vector<pcre2_match_data*> pool;

  pcre2_match_data* acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mutex);
      if (!pool.empty()) {
        auto* md = pool.back();
        pool.pop_back();
        return md;
      }
    }
    return pcre2_match_data_create_from_pattern(code, nullptr);
  }
  void release(pcre2_match_data* md) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    pool.push_back(md);
  }
  ~Impl() {
    for (auto* md : pool) pcre2_match_data_free(md);
    if (code) pcre2_code_free(code);
  }
};

SplitPreTokenizer::SplitPreTokenizer(const std::string& pattern, const std::string& where)
    : pattern_(pattern), impl_(std::make_unique<Impl>()) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  const std::string compiled = rewrite_white_space(pattern);
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error_code,
                              &error_offset, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    LETHE_FAIL(where, ": pre-tokenizer regex does not compile at offset ", error_offset, ": ",
               reinterpret_cast<const char*>(message));
  }
  // JIT is an optimisation: when it is unavailable the interpreter gives the same matches.
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
}

SplitPreTokenizer::~SplitPreTokenizer() = default;

void SplitPreTokenizer::split(std::string_view text, std::vector<std::string_view>* pieces) const {
  if (text.empty()) return;
  pcre2_match_data* md = impl_->acquire();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  size_t gap_start = 0;
  while (pos < text.size()) {
    // The text was validated as UTF-8 once by the caller, so each match skips the check.
    int rc = pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      impl_->release(md);
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      LETHE_FAIL("pre-tokenizer regex failed: ", reinterpret_cast<const char*>(message));
    }
    PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
    size_t start = ovector[0], end = ovector[1];
    if (start > gap_start) pieces->push_back(text.substr(gap_start, start - gap_start));
    if (end > start) {
      pieces->push_back(text.substr(start, end - start));
      pos = end;
    } else {
      // An empty match: step over one UTF-8 character so the scan always advances.
      pos = start + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      if (start > gap_start) {
        gap_start = start;
      }
      continue;
    }
    gap_start = end;
  }
  if (gap_start < text.size()) pieces->push_back(text.substr(gap_start));
  impl_->release(md);
}

}  // namespace lethe::text
