// A client for OpenAI-compatible /v1/chat/completions (OpenAI, vLLM, llama.cpp server) that returns
// validated structured JSON: response_format json_schema with a text fallback, validation with the
// error fed back to the model, retries with backoff, rate limits, a worker pool, and a persistent
// cache.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "datagen/http_client.h"
#include "datagen/rate_limiter.h"
#include "datagen/request_cache.h"

namespace lethe::datagen {

using json = nlohmann::json;

// Checks a parsed reply beyond its JSON schema; returns "" when valid, else what is wrong (this
// text is sent back to the model).
using Validator = std::function<std::string(const json& reply)>;

struct ChatRequest {
  std::string tag;             // names the request in errors and logs: "profiles batch 3"
  std::vector<json> messages;  // [{"role": "system"|"user"|"assistant", "content": "..."}]
  json schema;  // JSON schema of the reply (an object at the top, as OpenAI requires)
  std::string schema_name = "reply";
  Validator validate;  // optional
  int64_t seed = 0;    // sent as "seed" (reproducible sampling where the server supports it)
};

struct LlmOptions {
  std::string base_url = "http://127.0.0.1:8000/v1";  // ".../v1"; "/chat/completions" is appended
  std::string model;
  std::string api_key_env = "OPENAI_API_KEY";  // unset or empty: no Authorization header
  double temperature = 0.7;
  int max_tokens = 4096;
  double connect_timeout_s = 10.0;
  double request_timeout_s = 180.0;
  int max_attempts = 6;         // HTTP attempts per call (429, 5xx, timeouts, connection errors)
  int max_invalid_retries = 2;  // follow-ups after an invalid reply before the request is dropped
  double backoff_base_s = 1.0;  // delay before retry k: min(max, base * 2^(k-1)), times U(0.5, 1)
  double backoff_max_s = 60.0;
  double retry_after_max_s = 600.0;  // a longer Retry-After is an error, not a wait
  bool response_format = true;       // send response_format json_schema (off after a 400 about it)
  RateLimits limits;
};

// 401/403: the whole run stops with this message.
class AuthError : public Error {
 public:
  using Error::Error;
};

struct LlmStats {
  int64_t http_requests = 0;  // HTTP calls sent (attempts, follow-ups included)
  int64_t cache_hits = 0;
  int64_t completed = 0;      // requests that produced a valid reply from the server
  int64_t dropped = 0;        // requests still invalid after the follow-ups (or rejected with 4xx)
  int64_t retried = 0;        // HTTP attempts repeated after 429, 5xx, timeouts, connection errors
  int64_t invalid = 0;        // invalid replies (each one answered with a follow-up or dropped)
  int64_t prompt_tokens = 0;  // as reported by the server's `usage`
  int64_t completion_tokens = 0;
  std::string last_drop_reason;
};

class LlmClient {
 public:
  // `cache` may be null (no caching); it must outlive the client.
  LlmClient(LlmOptions options, RequestCache* cache);

  // The validated reply, or nullopt when it was dropped (counted in stats). Throws AuthError on
  // 401/403 and Error when the endpoint stays unreachable after max_attempts or rejects the model.
  std::optional<json> complete(const ChatRequest& request);

  // complete() for every request on `limits.concurrency` workers; results in request order. The
  // first error stops every worker and is rethrown; replies finished before it are in the cache.
  // `on_done(done, stats)` is called (serialised) after each request.
  std::vector<std::optional<json>> complete_all(
      const std::vector<ChatRequest>& requests,
      const std::function<void(int64_t done, const LlmStats& stats)>& on_done = {});

  LlmStats stats() const;
  // The cache key's source: model, messages, schema, temperature, max_tokens and seed (never the
  // key).
  json canonical_request(const ChatRequest& request) const;
  const LlmOptions& options() const { return options_; }
  std::string endpoint() const { return url_; }

 private:
  struct Reply {
    std::string content;
    std::string finish_reason;
  };
  std::optional<Reply> call(const ChatRequest& request, const std::vector<json>& messages);
  void sleep_or_stop(double seconds);
  void count(int64_t LlmStats::*field, int64_t n = 1);

  LlmOptions options_;
  RequestCache* cache_;
  std::string url_;
  std::vector<std::string> auth_headers_;
  RateLimiter limiter_;
  std::atomic<bool> response_format_;
  std::atomic<bool> stop_{false};
  mutable std::mutex stats_mutex_;
  LlmStats stats_;
};

}  // namespace lethe::datagen
