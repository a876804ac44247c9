// Parsing what an OpenAI-compatible server sends back: the chat.completion envelope, error bodies
// and Retry-After. Pure functions of the received text (no HTTP), so they can be fuzzed alone.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace lethe::datagen {

// The parts of a chat.completion body that the client uses.
struct ChatCompletion {
  std::string content;        // choices[0].message.content
  std::string finish_reason;  // "" when absent
  bool has_usage = false;     // the body had a `usage` object
  int64_t prompt_tokens = 0;  // usage counts; a missing, negative or non-integer count is 0
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;  // prompt + completion when the server does not say
};

// nullopt when the body is not a chat.completion with a string message content (a proxy cut it,
// an HTML error page, ...). Never throws.
std::optional<ChatCompletion> parse_chat_completion(const std::string& body);

// The server's own error message when the body is {"error": {"message": ...}} or {"error": "..."},
// else the body; one line of at most 200 characters.
std::string server_message(const std::string& body);

// `text` on one line (newlines and tabs as spaces), cut to `limit` characters with "...".
std::string snippet(const std::string& text, size_t limit = 200);

// A Retry-After header value in seconds; 0 when absent, not a positive finite number of seconds,
// or an HTTP date (LLM APIs send seconds).
double retry_after_seconds(const std::string& value);

}  // namespace lethe::datagen
