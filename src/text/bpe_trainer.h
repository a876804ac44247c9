// Trains a byte-level BPE vocabulary on a corpus (the Qwen2 pre-tokenizer and GPT-2 byte mapping,
// ChatML special tokens as added tokens) and writes it as a Hugging Face tokenizer folder.
// Deterministic.
#pragma once
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/chat_template.h"
#include "text/pre_tokenizer.h"

namespace lethe::text {

struct BpeTrainerOptions {
  int64_t vocab_size = 4096;  // 256 byte tokens + merges + special tokens
  int64_t min_frequency = 2;  // stop before merging a pair seen fewer times than this
  std::vector<std::string> special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  std::string split_pattern = kQwen2SplitPattern;
};

// A trained vocabulary: ids 0..255 are the bytes (GPT-2 order), then one token per merge, then the
// special tokens.
struct TrainedBpe {
  std::vector<std::string> tokens;  // id -> byte-level token string
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<std::string> special_tokens;  // id = tokens.size() + index
  std::string split_pattern;

  int64_t vocab_size() const { return static_cast<int64_t>(tokens.size() + special_tokens.size()); }
  // tokenizer.json with the same structure as Qwen2's (NFC, Split + ByteLevel, ByteLevel decoder).
  nlohmann::ordered_json tokenizer_json() const;
  // tokenizer_config.json: Qwen2Tokenizer class, eos <|im_end|>, pad <|endoftext|>, the chat
  // template.
  nlohmann::ordered_json tokenizer_config_json(const ChatTemplate& chat,
                                               int64_t model_max_length) const;
  // Writes tokenizer.json, tokenizer_config.json, vocab.json and merges.txt (atomically) into
  // `dir`.
  void save(const std::filesystem::path& dir, const ChatTemplate& chat,
            int64_t model_max_length) const;
};

class BpeTrainer {
 public:
  explicit BpeTrainer(BpeTrainerOptions options = {});

  // Counts the pre-tokenized pieces of one text (NFC-normalized; special tokens are cut out).
  // Throws lethe::Error for text that is not valid UTF-8.
  void add_text(std::string_view text);
  size_t num_unique_pieces() const { return piece_counts_.size(); }

  // Learns merges until the vocabulary has options.vocab_size tokens or no pair is frequent enough.
  TrainedBpe train() const;

 private:
  BpeTrainerOptions options_;
  SplitPreTokenizer split_;
  std::unordered_map<std::string, int64_t> piece_counts_;
};

}  // namespace lethe::text
