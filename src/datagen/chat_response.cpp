// chat.completion envelopes, error bodies and Retry-After values (see chat_response.h).
#include "datagen/chat_response.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

namespace lethe::datagen {

using json = nlohmann::json;

namespace {

// A token count: only non-negative integers count (a float, string or huge value is 0).
int64_t token_count(const json& usage, const char* key) {
  auto it = usage.find(key);
  if (it == usage.end()) return 0;
  if (it->is_number_unsigned()) {
    const uint64_t v = it->get<uint64_t>();
    return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? 0
                                                                          : static_cast<int64_t>(v);
  }
  if (it->is_number_integer()) return std::max<int64_t>(0, it->get<int64_t>());
  return 0;
}

}  // namespace

std::optional<ChatCompletion> parse_chat_completion(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty()) return std::nullopt;
  const json& choice = (*choices)[0];
  if (!choice.is_object()) return std::nullopt;
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) return std::nullopt;
  auto content = message->find("content");
  if (content == message->end() || !content->is_string()) return std::nullopt;
  ChatCompletion out;
  out.content = content->get<std::string>();
  auto finish = choice.find("finish_reason");
  if (finish != choice.end() && finish->is_string()) out.finish_reason = finish->get<std::string>();
  auto usage = j.find("usage");
  if (usage != j.end() && usage->is_object()) {
    out.has_usage = true;
    out.prompt_tokens = token_count(*usage, "prompt_tokens");
    out.completion_tokens = token_count(*usage, "completion_tokens");
    int64_t sum = 0;
    if (__builtin_add_overflow(out.prompt_tokens, out.completion_tokens, &sum))
      sum = std::numeric_limits<int64_t>::max();
    out.total_tokens = usage->contains("total_tokens") ? token_count(*usage, "total_tokens") : sum;
  }
  return out;
}

std::string snippet(const std::string& text, size_t limit) {
  std::string out;
  for (char c : text) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out;
}

std::string server_message(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    const auto& e = j["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string())
      return snippet(e["message"].get<std::string>());
    if (e.is_string()) return snippet(e.get<std::string>());
  }
  return snippet(body);
}

double retry_after_seconds(const std::string& value) {
  char* end = nullptr;
  const double s = std::strtod(value.c_str(), &end);
  return (end != value.c_str() && std::isfinite(s) && s > 0) ? s : 0;
}

}  // namespace lethe::datagen
