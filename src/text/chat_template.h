// Chat templates rendered in C++ (no Jinja engine): the ChatML family used by
// Qwen2/Qwen2.5-Instruct,
// `<|im_start|>role\ncontent<|im_end|>\n`, with an optional default system prompt. Tool calls are
// not supported; other template families are rejected with an error.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace lethe::text {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// Qwen2.5-Instruct's default system prompt (inserted when a conversation has no system message).
extern const char* const kQwen25DefaultSystem;

class ChatTemplate {
 public:
  // ChatML; `default_system` is inserted when the first message is not a system message (none: no
  // system turn is added).
  static ChatTemplate chatml(std::optional<std::string> default_system);

  // Recognises a Jinja chat_template string (tokenizer_config.json). ChatML templates are detected
  // by their `<|im_start|>`/`<|im_end|>` markers; the default system prompt is read from the
  // template's literal `'<|im_start|>system\n...<|im_end|>\n'`. Throws lethe::Error naming `where`
  // otherwise.
  static ChatTemplate from_jinja(const std::string& jinja, const std::string& where);

  // The conversation as text; with `add_generation_prompt` it ends with the assistant header.
  // Throws lethe::Error for an unknown role.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

  // "<|im_start|>assistant\n": what render appends for add_generation_prompt.
  std::string generation_prompt() const;
  // "<|im_end|>": the token that ends every turn (the answer's last token in training).
  std::string end_of_turn() const;

  const std::optional<std::string>& default_system() const { return default_system_; }
  void set_default_system(std::optional<std::string> system) {
    default_system_ = std::move(system);
  }

  // A Jinja template that Hugging Face's apply_chat_template renders exactly as `render` does (what
  // lethe writes into tokenizer_config.json).
  std::string to_jinja() const;

 private:
  std::optional<std::string> default_system_;
};

}  // namespace lethe::text
