// A Hugging Face byte-level BPE tokenizer (Qwen2/Qwen2.5, GPT-2, Llama-3 style) loaded from
// tokenizer.json (+ tokenizer_config.json): added tokens, normalizer, Split pre-tokenizer, BPE,
// decode, special-token ids and the chat template. Not supported: SentencePiece/Unigram/WordPiece
// models.
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/bpe_model.h"
#include "text/chat_template.h"
#include "text/normalizer.h"
#include "text/pre_tokenizer.h"

namespace lethe::text {

// An entry of tokenizer.json's "added_tokens": matched in the text before BPE.
struct AddedToken {
  int64_t id = -1;
  std::string content;
  bool special = false;      // dropped by decode(skip_special)
  bool normalized = false;   // matched in the normalized text (else in the raw text)
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool single_word = false;  // matched only when not inside a word
};

struct EncodeOptions {
  bool parse_special = true;  // false: special added tokens in the text are ordinary text
  bool add_special_tokens =
      false;  // add the post-processor's tokens (e.g. Llama-3's BOS); Qwen: none
};

// The result of rendering one question/answer pair for training: the loss goes on answer_ids only.
struct QaIds {
  std::vector<int64_t> prompt_ids;  // ... up to and including "<|im_start|>assistant\n"
  std::vector<int64_t> answer_ids;  // the answer, then the end-of-turn token "<|im_end|>"
};

class Tokenizer {
 public:
  // `path`: a folder holding tokenizer.json (and usually tokenizer_config.json), or a
  // tokenizer.json file. Throws lethe::Error naming the file for anything missing, malformed or
  // unsupported.
  static Tokenizer load(const std::filesystem::path& path);

  // From parsed files; `config` may be null (no chat template, eos unknown). `where` names the
  // source.
  static Tokenizer from_json(const nlohmann::json& tokenizer_json, const nlohmann::json& config,
                             const std::string& where);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // text (UTF-8) -> token ids. Throws lethe::Error when the text is not valid UTF-8.
  std::vector<int64_t> encode(std::string_view text, const EncodeOptions& options = {}) const;

  // ids -> text; ill-formed UTF-8 from partial tokens becomes U+FFFD. Throws for an unknown id.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special = false) const;

  // The token strings (byte-level form, "Ġworld"; added tokens as written), as HF's
  // convert_ids_to_tokens. Throws for an unknown id.
  std::string id_to_token(int64_t id) const;
  // -1 when `token` is neither in the vocabulary nor an added token.
  int64_t token_to_id(const std::string& token) const;

  // One more than the largest id (vocabulary plus added tokens): the least embedding size.
  int64_t vocab_size() const { return vocab_size_; }
  // The BPE vocabulary alone (HF's `tokenizer.vocab_size`).
  int64_t base_vocab_size() const { return bpe_->size(); }
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  bool is_special(int64_t id) const;

  // From tokenizer_config.json (eos_token, pad_token, bos_token); nullopt when unset.
  std::optional<int64_t> eos_id() const { return eos_id_; }
  std::optional<int64_t> pad_id() const { return pad_id_; }
  std::optional<int64_t> bos_id() const { return bos_id_; }
  // ChatML markers, when the vocabulary has them.
  std::optional<int64_t> im_start_id() const { return optional_id("<|im_start|>"); }
  std::optional<int64_t> im_end_id() const { return optional_id("<|im_end|>"); }

  bool has_chat_template() const { return chat_template_.has_value(); }
  // Throws lethe::Error when tokenizer_config.json had no chat_template or one lethe cannot render
  // (not ChatML); plain encoding still works then.
  const ChatTemplate& chat_template() const;
  void set_chat_template(ChatTemplate chat_template) {
    chat_template_ = std::move(chat_template);
    chat_template_error_.clear();
  }

  // Renders with the chat template, then encodes (special tokens parsed).
  std::vector<int64_t> encode_chat(const std::vector<ChatMessage>& messages,
                                   bool add_generation_prompt) const;
  // A user question and its answer for training (system: the template's default when nullopt).
  QaIds encode_qa(const std::string& question, const std::string& answer,
                  const std::optional<std::string>& system = std::nullopt) const;

  const std::string& source() const { return where_; }
  const BpeModel& bpe() const { return *bpe_; }

 private:
  Tokenizer() = default;
  // model.vocab and model.merges, either streamed out of the file by `load` or read from the JSON.
  struct ModelTables {
    bool streamed = false;
    std::unordered_map<std::string, int32_t> vocab;
    std::vector<std::pair<std::string, std::string>> merges;
  };
  static Tokenizer from_parts(const nlohmann::json& tokenizer_json, ModelTables tables,
                              const nlohmann::json& config, const std::string& where);
  std::optional<int64_t> optional_id(const std::string& token) const;
  void encode_text(std::string_view text, std::vector<int64_t>* ids) const;
  void encode_normalized(std::string_view text, bool parse_special,
                         std::vector<int64_t>* ids) const;
  // Splits `text` on the added tokens whose `normalized` flag equals `normalized`; calls on_text
  // for stretches of text and appends token ids for matches.
  template <typename OnText>
  void split_added(std::string_view text, bool normalized, bool parse_special,
                   std::vector<int64_t>* ids, OnText on_text) const;

  std::string where_;
  std::unique_ptr<BpeModel> bpe_;
  Normalizer normalizer_;
  std::vector<std::unique_ptr<SplitPreTokenizer>> splits_;
  bool add_prefix_space_ = false;
  std::vector<AddedToken> added_;  // longest content first
  std::unordered_map<std::string, int64_t> added_ids_;
  std::unordered_map<int64_t, size_t> added_index_;  // id -> index in added_
  std::array<bool, 256> added_first_byte_{};
  std::vector<int64_t> prefix_ids_, suffix_ids_;  // post-processor template (add_special_tokens)
  int64_t vocab_size_ = 0;
  std::optional<int64_t> eos_id_, pad_id_, bos_id_;
  std::optional<ChatTemplate> chat_template_;
  std::string chat_template_error_;  // why tokenizer_config.json's template is unsupported
};

}  // namespace lethe::text
