// A local OpenAI-protocol server for the LLM client tests: POST /v1/chat/completions on 127.0.0.1
// (an ephemeral port), replies from a deterministic responder, faults injected per request, and a
// log of what arrived (timestamps, bodies, headers, in-flight peak) for assertions made at the
// server.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace lethe::test {

enum class FaultKind {
  none,
  rate_limit,      // 429 with Retry-After: `seconds`
  server_error,    // 500
  slow,            // answers after `seconds`
  truncated_json,  // 200, content cut in the middle of the JSON (finish_reason "length")
  invalid_schema,  // 200, JSON without a required field
  wrapped_text,    // 200, the JSON inside prose and a ``` fence
  broken_body,     // 200 with an unparseable body
  unauthorized     // 401
};

struct Fault {
  FaultKind kind = FaultKind::none;
  double seconds = 0;
};

struct ArrivedRequest {
  double time_s;  // since the server started
  nlohmann::json body;
  std::string authorization;
  int64_t usage_tokens;  // what the reply reported in usage.total_tokens (0 when no reply)
};

class FakeLlmServer {
 public:
  // The reply content (a JSON value) for a request body.
  using Responder = std::function<nlohmann::json(const nlohmann::json& body)>;
  // The fault for the n-th request (0-based arrival order) with this body.
  using FaultPlan = std::function<Fault(int n, const nlohmann::json& body)>;

  explicit FakeLlmServer(Responder responder, FaultPlan faults = {});
  ~FakeLlmServer();

  std::string base_url() const;  // "http://127.0.0.1:PORT/v1"
  int port() const { return port_; }
  std::vector<ArrivedRequest> requests() const;
  int request_count() const;
  int max_in_flight() const { return max_in_flight_; }
  // Replies set completion tokens to this (prompt tokens are ceil(chars / 4) of the messages).
  void set_completion_tokens(int64_t n) { completion_tokens_ = n; }
  // Answers 400 when a request carries response_format (a server without structured output).
  void reject_response_format(bool on) { reject_format_ = on; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  Responder responder_;
  FaultPlan faults_;
  std::chrono::steady_clock::time_point start_;
  mutable std::mutex mutex_;
  std::vector<ArrivedRequest> log_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::atomic<int64_t> completion_tokens_{10};
  std::atomic<bool> reject_format_{false};
  std::atomic<bool> stopping_{false};
};

}  // namespace lethe::test
