// The Split pre-tokenizer of Hugging Face tokenizers with behavior "Isolated": a Unicode regex
// (PCRE2, UTF + UCP, JIT) cuts text into pieces; matches and the gaps between them both become
// pieces.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lethe::text {

// Qwen2's split pattern (also the one lethe's BPE trainer writes).
extern const char* const kQwen2SplitPattern;

// GPT-2's pattern, used by a ByteLevel pre-tokenizer with use_regex = true.
extern const char* const kGpt2SplitPattern;

class SplitPreTokenizer {
 public:
  // Compiles `pattern` (HF/Oniguruma syntax, which PCRE2 accepts for these patterns); throws
  // lethe::Error naming `where` when it does not compile.
  SplitPreTokenizer(const std::string& pattern, const std::string& where);
  ~SplitPreTokenizer();
  SplitPreTokenizer(const SplitPreTokenizer&) = delete;
  SplitPreTokenizer& operator=(const SplitPreTokenizer&) = delete;

  // Appends the pieces of `text` (valid UTF-8) to `pieces`, in order; they concatenate to `text`.
  // Thread-safe.
  void split(std::string_view text, std::vector<std::string_view>* pieces) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lethe::text
