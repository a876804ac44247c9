// Chat completions with retries (backoff + jitter, Retry-After), validation follow-ups, caching and
// a worker pool. Secrets: the API key lives only in auth_headers_ and is never printed or stored.
#include "datagen/llm_client.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <random>
#include <thread>

#include "datagen/chat_response.h"
#include "datagen/json_extract.h"
#include "datagen/json_schema.h"

namespace lethe::datagen {

namespace {

// Thrown by workers that notice another worker's fatal error; never the reported cause.
class Stopped : public Error {
 public:
  Stopped() : Error("llm: stopped after an earlier error") {}
};

bool retryable_status(long status) {
  return status == 408 || status == 409 || status == 425 || status == 429 || status >= 500;
}

double jitter_fraction() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.5, 1.0)(rng);
}

size_t chars_of(const std::vector<json>& messages) {
  size_t n = 0;
  for (const auto& m : messages)
    if (m.contains("content") && m["content"].is_string())
      n += m["content"].get<std::string>().size();
  return n;
}

}  // namespace

LlmClient::LlmClient(LlmOptions options, RequestCache* cache)
    : options_(std::move(options)),
      cache_(cache),
      limiter_(options_.limits),
      response_format_(options_.response_format) {
  LETHE_CHECK(!options_.model.empty(), "llm: a model name is required (--model)");
  LETHE_CHECK(options_.max_attempts >= 1, "llm: max attempts must be at least 1, got ",
              options_.max_attempts);
  LETHE_CHECK(options_.max_invalid_retries >= 0, "llm: invalid-reply retries must be >= 0");
  std::string base = options_.base_url;
  LETHE_CHECK(base.rfind("http://", 0) == 0 || base.rfind("https://", 0) == 0,
              "llm: base URL must start with http:// or https://, got '", base, "'");
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string suffix = "/chat/completions";
  url_ = (base.size() >= suffix.size() &&
          base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0)
             ? base
             : base + suffix;
  if (!options_.api_key_env.empty()) {
    const char* key = std::getenv(options_.api_key_env.c_str());
    if (key && *key) auth_headers_.push_back(std::string("Authorization: Bearer ") + key);
  }
}

void LlmClient::count(int64_t LlmStats::*field, int64_t n) {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.*field += n;
}

LlmStats LlmClient::stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return stats_;
}

json LlmClient::canonical_request(const ChatRequest& request) const {
  return json{{"model", options_.model},
              {"messages", request.messages},
              {"schema", request.schema},
              {"schema_name", request.schema_name},
              {"temperature", options_.temperature},
              {"max_tokens", options_.max_tokens},
              {"seed", request.seed}};
}

void LlmClient::sleep_or_stop(double seconds) {
  auto until =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
  while (!stop_) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until) break;
    std::this_thread::sleep_for(
        std::min<std::chrono::nanoseconds>(until - now, std::chrono::milliseconds(20)));
  }
  if (stop_) throw Stopped();
}

std::optional<LlmClient::Reply> LlmClient::call(const ChatRequest& request,
                                                const std::vector<json>& messages) {
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    if (stop_) throw Stopped();
    json body{{"model", options_.model},
              {"messages", messages},
              {"temperature", options_.temperature},
              {"max_tokens", options_.max_tokens},
              {"seed", request.seed}};
    bool with_format = response_format_ && !request.schema.is_null();
    if (with_format)
      body["response_format"] = {
          {"type", "json_schema"},
          {"json_schema",
           {{"name", request.schema_name}, {"schema", request.schema}, {"strict", true}}}};
    std::string payload = body.dump();
    double wait = 0;
    {
      auto permit = limiter_.acquire(estimate_tokens(chars_of(messages)));
      count(&LlmStats::http_requests);
      try {
        HttpResponse response =
            http_post_json(url_, payload, auth_headers_,
                           HttpOptions{options_.connect_timeout_s, options_.request_timeout_s});
        long status = response.status;
        if (status == 200) {
          if (auto completion = parse_chat_completion(response.body)) {
            if (completion->has_usage) {
              count(&LlmStats::prompt_tokens, completion->prompt_tokens);
              count(&LlmStats::completion_tokens, completion->completion_tokens);
              permit.reconcile(completion->total_tokens);
            }
            return Reply{std::move(completion->content), std::move(completion->finish_reason)};
          }
          // A 200 whose envelope is broken (a proxy cut the body): transient.
          last_error = "malformed response body: " + snippet(response.body, 80);
        } else if (status == 401 || status == 403) {
          stop_ = true;
          throw AuthError("llm: HTTP " + std::to_string(status) + " from " + url_ +
                          ": authentication failed; check the API key in $" + options_.api_key_env +
                          " (server said: " + server_message(response.body) + ")");
        } else if (status == 400 && with_format &&
                   (response.body.find("response_format") != std::string::npos ||
                    response.body.find("json_schema") != std::string::npos)) {
          // The server does not support structured output: fall back to JSON in text.
          response_format_ = false;
          --attempt;
          continue;
        } else if (status == 404) {
          stop_ = true;
          throw Error("llm: HTTP 404 from " + url_ + ": unknown endpoint or model '" +
                      options_.model + "' (server said: " + server_message(response.body) + ")");
        } else if (retryable_status(status)) {
          last_error = "HTTP " + std::to_string(status) + ": " + server_message(response.body);
          auto retry_after = response.headers.find("retry-after");
          wait =
              retry_after == response.headers.end() ? 0 : retry_after_seconds(retry_after->second);
          if (wait > options_.retry_after_max_s) {
            stop_ = true;
            throw Error("llm: " + url_ + " asks to wait " + std::to_string(wait) +
                        " s (Retry-After), more than the allowed " +
                        std::to_string(options_.retry_after_max_s) + " s: " + last_error);
          }
        } else {
          std::lock_guard<std::mutex> lock(stats_mutex_);
          stats_.last_drop_reason = request.tag + ": HTTP " + std::to_string(status) + ": " +
                                    server_message(response.body);
          return std::nullopt;
        }
      } catch (const TransportError& e) {
        last_error = e.what();
      }
    }
    if (attempt >= options_.max_attempts) {
      stop_ = true;
      throw Error("llm: " + request.tag + ": no valid answer from " + url_ + " after " +
                  std::to_string(attempt) + " attempts (last: " + last_error + ")");
    }
    count(&LlmStats::retried);
    double backoff =
        std::min(options_.backoff_max_s, options_.backoff_base_s * std::pow(2.0, attempt - 1)) *
        jitter_fraction();
    sleep_or_stop(std::max(backoff, wait));
  }
}

std::optional<json> LlmClient::complete(const ChatRequest& request) {
  json canonical = canonical_request(request);
  std::string key = RequestCache::key_for(canonical);
  auto check = [&](const json& reply) {
    std::string error = check_schema(reply, request.schema);
    if (error.empty() && request.validate) error = request.validate(reply);
    return error;
  };
  if (cache_) {
    if (auto hit = cache_->get(key); hit && check(*hit).empty()) {
      count(&LlmStats::cache_hits);
      return hit;
    }
  }
  std::vector<json> messages = request.messages;
  std::string error;
  for (int round = 0; round <= options_.max_invalid_retries; ++round) {
    auto reply = call(request, messages);
    if (!reply) {
      count(&LlmStats::dropped);
      return std::nullopt;
    }
    auto parsed = extract_json(reply->content);
    if (!parsed)
      error = reply->finish_reason == "length"
                  ? "the reply was cut off (max_tokens reached) before the JSON ended; answer "
                    "more briefly"
                  : "the reply contains no complete JSON object";
    else
      error = check(*parsed);
    if (error.empty()) {
      if (cache_) cache_->put(key, canonical, *parsed);
      count(&LlmStats::completed);
      return parsed;
    }
    count(&LlmStats::invalid);
    messages.push_back({{"role", "assistant"}, {"content", reply->content}});
    messages.push_back({{"role", "user"},
                        {"content", "Your reply is invalid: " + error +
                                        ". Reply again with only the corrected JSON, following "
                                        "the schema and every rule above."}});
  }
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.dropped += 1;
  stats_.last_drop_reason = request.tag + ": " + error;
  return std::nullopt;
}

std::vector<std::optional<json>> LlmClient::complete_all(
    const std::vector<ChatRequest>& requests,
    const std::function<void(int64_t, const LlmStats&)>& on_done) {
  std::vector<std::optional<json>> results(requests.size());
  std::atomic<size_t> next{0};
  std::mutex done_mutex;
  int64_t done = 0;
  std::exception_ptr first_error;
  stop_ = false;
  auto worker = [&] {
    for (;;) {
      if (stop_) return;
      size_t i = next++;
      if (i >= requests.size()) return;
      try {
        results[i] = complete(requests[i]);
      } catch (const Stopped&) {
        return;
      } catch (...) {
        std::lock_guard<std::mutex> lock(done_mutex);
        if (!first_error) first_error = std::current_exception();
        stop_ = true;
        return;
      }
      std::lock_guard<std::mutex> lock(done_mutex);
      ++done;
      if (on_done) on_done(done, stats());
    }
  };
  size_t n_workers = std::min<size_t>(std::max(1, options_.limits.concurrency), requests.size());
  std::vector<std::thread> threads;
  for (size_t w = 0; w < n_workers; ++w) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (first_error) {
    std::rethrow_exception(first_error);
  }
  return results;
}

}  // namespace lethe::datagen
