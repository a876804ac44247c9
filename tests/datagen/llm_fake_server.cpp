// The fake OpenAI-protocol server: cpp-httplib on a background thread.
#include "datagen/llm_fake_server.h"

#include <httplib.h>

namespace lethe::test {

using nlohmann::json;

FakeLlmServer::FakeLlmServer(Responder responder, FaultPlan faults)
    : server_(std::make_unique<httplib::Server>()),
      responder_(std::move(responder)),
      faults_(std::move(faults)),
      start_(std::chrono::steady_clock::now()) {
  server_->Post("/v1/chat/completions", [this](const httplib::Request& req,
                                               httplib::Response& res) {
    int now_in = ++in_flight_;
    int seen = max_in_flight_;
    while (now_in > seen && !max_in_flight_.compare_exchange_weak(seen, now_in)) {
    }
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    json body = json::parse(req.body, nullptr, false);
    int n;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      n = static_cast<int>(log_.size());
      log_.push_back({t, body, req.get_header_value("Authorization"), 0});
    }
    Fault fault = faults_ ? faults_(n, body) : Fault{};
    auto finish = [&](int status, const std::string& text) {
      res.status = status;
      res.set_content(text, "application/json");
      --in_flight_;
    };
    if (fault.kind == FaultKind::slow) {
      auto until =
          std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 std::chrono::duration<double>(fault.seconds));
      while (!stopping_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (fault.kind == FaultKind::unauthorized)
      return finish(
          401,
          R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}})");
    if (fault.kind == FaultKind::rate_limit) {
      res.set_header("Retry-After", std::to_string(fault.seconds));
      return finish(429, R"({"error":{"message":"Rate limit reached","type":"requests"}})");
    }
    if (fault.kind == FaultKind::server_error)
      return finish(500, R"({"error":{"message":"internal error"}})");
    if (fault.kind == FaultKind::broken_body) return finish(200, R"({"id":"x","choices":[{"mess)");
    if (body.is_discarded()) return finish(400, R"({"error":{"message":"body is not JSON"}})");
    if (reject_format_ && body.contains("response_format"))
      return finish(400, R"({"error":{"message":"response_format json_schema is not supported"}})");
    json reply = responder_(body);
    std::string content = reply.dump();
    std::string finish_reason = "stop";
    if (fault.kind == FaultKind::truncated_json) {
      content = content.substr(0, content.size() / 2);
      finish_reason = "length";
    } else if (fault.kind == FaultKind::invalid_schema) {
      content = R"({"unexpected": true})";
    } else if (fault.kind == FaultKind::wrapped_text) {
      content =
          "Sure! Here is the JSON you asked for:\n```json\n" + reply.dump(2) + "\n```\nEnjoy.";
    }
    size_t chars = 0;
    for (const auto& m : body["messages"]) chars += m.value("content", std::string()).size();
    int64_t prompt_tokens = static_cast<int64_t>((chars + 3) / 4);
    int64_t completion_tokens = completion_tokens_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      log_[n].usage_tokens = prompt_tokens + completion_tokens;
    }
    json envelope{
        {"id", "chatcmpl-" + std::to_string(n)},
        {"object", "chat.completion"},
        {"model", body.value("model", std::string())},
        {"choices", json::array({{{"index", 0},
                                  {"message", {{"role", "assistant"}, {"content", content}}},
                                  {"finish_reason", finish_reason}}})},
        {"usage",
         {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}}}};
    finish(200, envelope.dump());
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake LLM server: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeLlmServer::~FakeLlmServer() {
  stopping_ = true;
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeLlmServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/v1";
}

std::vector<ArrivedRequest> FakeLlmServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

int FakeLlmServer::request_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(log_.size());
}

}  // namespace lethe::test
