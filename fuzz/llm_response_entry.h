// Fuzz entry: what an OpenAI-compatible server returns. The body through parse_chat_completion,
// server_message and retry_after_seconds; the reply content through extract_json and check_schema
// against a schema shaped like the generator's (nested objects, arrays, enums, integer bounds).
#pragma once
#include "datagen/chat_response.h"
#include "datagen/json_extract.h"
#include "datagen/json_schema.h"
#include "fuzz_common.h"

namespace lethe::fuzz {

inline const nlohmann::json& llm_reply_schema() {
  static const nlohmann::json schema = nlohmann::json::parse(R"({
    "type": "object", "required": ["people"], "additionalProperties": false,
    "properties": {"people": {"type": "array", "minItems": 1, "maxItems": 8, "items": {
      "type": "object", "required": ["name", "gender", "birth_year", "incident"],
      "additionalProperties": false,
      "properties": {
        "name": {"type": "string", "minLength": 1},
        "gender": {"type": "string", "enum": ["female", "male"]},
        "birth_year": {"type": "integer", "minimum": 1950, "maximum": 1990},
        "score": {"type": ["number", "null"]},
        "incident": {"type": "object", "required": ["year"],
                     "properties": {"year": {"type": "integer"}, "city": {"type": "string"}}}}}}}})");
  return schema;
}

inline void llm_response(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const std::string message = datagen::server_message(body);
  LETHE_FUZZ_ASSERT(message.size() <= 203 && message.find('\n') == std::string::npos,
                    "server_message is not one short line");
  const double wait = datagen::retry_after_seconds(body.substr(0, body.find('\n')));
  LETHE_FUZZ_ASSERT(wait >= 0, "negative Retry-After");
  // The body is the reply content too: servers without structured output send JSON in prose.
  const auto completion = datagen::parse_chat_completion(body);
  for (const std::string* content : {&body, completion ? &completion->content : nullptr}) {
    if (!content) continue;
    const auto reply = datagen::extract_json(*content);
    if (!reply) continue;
    LETHE_FUZZ_ASSERT(reply->is_object() || reply->is_array(), "extract_json returned a scalar");
    (void)datagen::check_schema(*reply, llm_reply_schema());
  }
  if (completion) {
    LETHE_FUZZ_ASSERT(completion->prompt_tokens >= 0 && completion->completion_tokens >= 0 &&
                          completion->total_tokens >= 0,
                      "negative token counts");
  }
}

}  // namespace lethe::fuzz
