// The LLM client against the local fake server: faults, validation follow-ups, rate and concurrency
// limits measured at the server, the cache on a rerun, auth errors, unreachable endpoints.
#include "datagen/llm_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "datagen/json_extract.h"
#include "datagen/json_schema.h"
#include "datagen/llm_fake_server.h"
#include "expect_close.h"

namespace lethe::datagen {
namespace {

using test::FakeLlmServer;
using test::Fault;
using test::FaultKind;

// Requests carry "ID=<n>" in the user message; the reply echoes n.
json echo_schema() {
  return json::parse(R"({"type":"object","additionalProperties":false,"required":["id","text"],
    "properties":{"id":{"type":"integer"},"text":{"type":"string","minLength":1}}})");
}

int id_of(const json& body) {
  for (const auto& m : body["messages"]) {
    std::string c = m.value("content", std::string());
    auto pos = c.find("ID=");
    if (m["role"] == "user" && pos != std::string::npos) return std::atoi(c.c_str() + pos + 3);
  }
  return -1;
}

json echo(const json& body) { return {{"id", id_of(body)}, {"text", "reply"}}; }

std::vector<ChatRequest> echo_requests(int n) {
  std::vector<ChatRequest> out;
  for (int i = 0; i < n; ++i) {
    ChatRequest r;
    r.tag = "echo " + std::to_string(i);
    r.messages = {{{"role", "system"}, {"content", "Reply in JSON."}},
                  {{"role", "user"}, {"content", "Echo ID=" + std::to_string(i)}}};
    r.schema = echo_schema();
    r.validate = [i](const json& reply) {
      return reply["id"] == i ? "" : "id must be " + std::to_string(i);
    };
    r.seed = i;
    out.push_back(r);
  }
  return out;
}

LlmOptions fast_options(const FakeLlmServer& server) {
  LlmOptions o;
  o.base_url = server.base_url();
  o.model = "fake-model";
  o.api_key_env = "LETHE_TEST_LLM_KEY";
  o.backoff_base_s = 0.005;
  o.backoff_max_s = 0.05;
  o.request_timeout_s = 5;
  o.connect_timeout_s = 2;
  o.limits.concurrency = 4;
  return o;
}

// Every request answered exactly once, in order.
void expect_all_echoed(const std::vector<std::optional<json>>& results, int n) {
  ASSERT_EQ(results.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(results[i].has_value()) << "request " << i << " lost";
    EXPECT_EQ((*results[i])["id"], i);
  }
}

TEST(LlmJsonExtract, FindsTheFirstJsonValueInText) {
  EXPECT_EQ(*extract_json(R"({"a": 1})"), json({{"a", 1}}));
  EXPECT_EQ(*extract_json("Here you go:\n```json\n{\"a\": \"}{\", \"b\": [1, 2]}\n```\nBye"),
            json::parse(R"({"a": "}{", "b": [1, 2]})"));
  EXPECT_EQ(*extract_json(R"(list: [1, {"x": "a \" ] quote"}] done)"),
            json::parse(R"([1, {"x": "a \" ] quote"}])"));
  // A broken first candidate is skipped for a later complete one.
  EXPECT_EQ(*extract_json(R"(draft {"a": } final {"a": 2})"), json({{"a", 2}}));
  EXPECT_FALSE(extract_json(R"({"people": [{"name": "Ana", "year": 19)").has_value());
  EXPECT_FALSE(extract_json("no json here").has_value());
}

TEST(LlmJsonSchema, ReportsTheFirstViolationWithItsPath) {
  json schema = json::parse(R"({"type":"object","required":["people"],"properties":{
    "people":{"type":"array","minItems":1,"items":{"type":"object","required":["name","year"],
      "additionalProperties":false,"properties":{"name":{"type":"string","minLength":1},
      "year":{"type":"integer","minimum":1900},"kind":{"enum":["a","b"]}}}}}})");
  EXPECT_EQ(check_schema(json::parse(R"({"people":[{"name":"A","year":1950}]})"), schema), "");
  EXPECT_EQ(check_schema(json::parse(R"({"people":[]})"), schema),
            "people: needs at least 1 items, got 0");
  EXPECT_EQ(check_schema(json::parse(R"({"people":[{"name":"A","year":"x"}]})"), schema),
            "people[0].year: expected integer, got string");
  EXPECT_EQ(check_schema(json::parse(R"({"people":[{"name":"A","year":1800}]})"), schema),
            "people[0].year: 1800 is below the minimum 1900");
  EXPECT_EQ(check_schema(json::parse(R"({"people":[{"name":"A"}]})"), schema),
            "people[0]: field 'year' missing");
  EXPECT_EQ(check_schema(json::parse(R"({"people":[{"name":"A","year":1950,"x":1}]})"), schema),
            "people[0]: unexpected field 'x'");
  EXPECT_EQ(
      check_schema(json::parse(R"({"people":[{"name":"A","year":1950,"kind":"c"}]})"), schema),
      R"(people[0].kind: "c" is not one of ["a","b"])");
  EXPECT_EQ(check_schema(json::array(), schema), "reply: expected object, got array");
}

TEST(LlmRateLimiter, TokenBucketNeverAdmitsMoreThanTheLimitInAnyMinute) {
  // Simulated clock: a greedy caller takes whenever allowed for 5 minutes.
  TokenBucket bucket(120);  // burst 2, refill 118/60 per second
  auto t0 = TokenBucket::Clock::now() + std::chrono::seconds(1);
  std::vector<double> starts;
  double t = 0;
  while (t < 300) {
    auto now = t0 + std::chrono::duration_cast<TokenBucket::Clock::duration>(
                        std::chrono::duration<double>(t));
    double wait = bucket.wait_seconds(1, now);
    if (wait > 0) {
      t += wait + 1e-9;
      continue;
    }
    bucket.take(1, now);
    starts.push_back(t);
  }
  size_t worst = 0;
  for (size_t i = 0, j = 0; j < starts.size(); ++j) {
    while (starts[j] - starts[i] >= 60.0) ++i;
    worst = std::max(worst, j - i + 1);
  }
  EXPECT_LE(worst, 120u);
  EXPECT_GE(worst, 118u);  // and the limit is used, not wasted
}

TEST(LlmRequestCache, KeysAreCanonicalAndEntriesPersist) {
  // Canonical: keys sorted, no whitespace, so member order does not change the key.
  EXPECT_EQ(RequestCache::key_for(json{{"b", 1}, {"a", {{"y", 2}, {"x", 3}}}}),
            core::sha256_hex(R"({"a":{"x":3,"y":2},"b":1})"));
  std::string dir = test::make_temp_dir("llm_req_cache");
  {
    RequestCache cache(dir + "/sub/c.sqlite");  // creates the folder
    EXPECT_FALSE(cache.get("k1").has_value());
    cache.put("k1", json{{"q", 1}}, json{{"answer", "x"}});
    cache.put("k1", json{{"q", 1}}, json{{"answer", "y"}});  // replaces
    EXPECT_EQ(cache.size(), 1);
  }
  RequestCache reopened(dir + "/sub/c.sqlite");
  EXPECT_EQ(*reopened.get("k1"), json({{"answer", "y"}}));
  RequestCache memory("");
  memory.put("k", json::object(), json::array({1, 2}));
  EXPECT_EQ(*memory.get("k"), json::array({1, 2}));
  EXPECT_THROW(RequestCache("/proc/no/such/dir/c.sqlite"), Error);
  std::filesystem::remove_all(dir);
}

TEST(LlmClient, SurvivesInjectedFaultsWithoutLosingOrDuplicating) {
  // Faults on the first arrival of some ids; the retry (or follow-up) of the same id succeeds.
  std::mutex m;
  std::set<int> faulted;
  FakeLlmServer server(echo, [&](int, const json& body) {
    int id = id_of(body);
    std::lock_guard<std::mutex> lock(m);
    if (!faulted.insert(id).second) return Fault{};
    switch (id % 7) {
      case 0:
        return Fault{FaultKind::rate_limit, 0.15};
      case 1:
        return Fault{FaultKind::server_error};
      case 2:
        return Fault{FaultKind::truncated_json};
      case 3:
        return Fault{FaultKind::invalid_schema};
      case 4:
        return Fault{FaultKind::wrapped_text};
      case 5:
        return Fault{FaultKind::broken_body};
      default:
        return Fault{};
    }
  });
  LlmClient client(fast_options(server), nullptr);
  const int n = 21;
  auto results = client.complete_all(echo_requests(n));
  expect_all_echoed(results, n);
  LlmStats s = client.stats();
  EXPECT_EQ(s.completed, n);
  EXPECT_EQ(s.dropped, 0);
  EXPECT_EQ(s.retried, 9);  // 429, 500 and a broken body for 3 ids each
  EXPECT_EQ(s.invalid, 6);  // truncated and schema-invalid JSON for 3 ids each
  EXPECT_EQ(server.request_count(), n + 15);
  EXPECT_GT(s.prompt_tokens, 0);
  // Retry-After honoured: the second arrival of a 429'd id comes >= 0.15 s after the first.
  auto log = server.requests();
  for (int id : {0, 7, 14}) {
    std::vector<double> times;
    for (const auto& r : log)
      if (id_of(r.body) == id) times.push_back(r.time_s);
    ASSERT_EQ(times.size(), 2u);
    EXPECT_GE(times[1] - times[0], 0.15) << "id " << id;
  }
  // The follow-up after an invalid reply carries the validation error back to the model.
  bool saw_feedback = false;
  for (const auto& r : log) {
    const auto& msgs = r.body["messages"];
    if (msgs.size() == 4 && id_of(r.body) == 3) {
      EXPECT_EQ(msgs[2]["role"], "assistant");
      EXPECT_NE(msgs[3]["content"].get<std::string>().find("field 'id' missing"),
                std::string::npos);
      saw_feedback = true;
    }
  }
  EXPECT_TRUE(saw_feedback);
}

TEST(LlmClient, TimesOutASlowAnswerAndRetries) {
  FakeLlmServer server(echo, [&](int n, const json&) {
    return n == 0 ? Fault{FaultKind::slow, 1.0} : Fault{FaultKind::slow, 0.05};
  });
  LlmOptions o = fast_options(server);
  o.request_timeout_s = 0.3;
  LlmClient client(o, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto results = client.complete_all(echo_requests(1));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  expect_all_echoed(results, 1);
  EXPECT_EQ(client.stats().retried, 1);
  EXPECT_EQ(server.request_count(), 2);
  EXPECT_LT(took, 0.9);  // the client gave up on the slow answer instead of waiting 1 s
}

TEST(LlmClient, HoldsRequestRateMeasuredAtTheServer) {
  FakeLlmServer server(echo);
  LlmOptions o = fast_options(server);
  o.limits.requests_per_minute = 1200;  // burst 20, then (1200 - 20) / 60 per second
  LlmClient client(o, nullptr);
  const int n = 50;
  expect_all_echoed(client.complete_all(echo_requests(n)), n);
  auto log = server.requests();
  ASSERT_EQ(log.size(), static_cast<size_t>(n));
  const double burst = 20, rate = (1200.0 - 20) / 60;
  for (size_t i = 0; i < log.size(); ++i)
    for (size_t j = i; j < log.size(); ++j) {
      double window = log[j].time_s - log[i].time_s;
      ASSERT_LE(double(j - i + 1), burst + rate * window + 1.0)
          << "requests " << i << ".." << j << " within " << window << " s";
    }
  // The limit binds: 30 requests beyond the burst need at least 30 / rate seconds.
  EXPECT_GE(log.back().time_s - log.front().time_s, 30 / rate - 0.05);
}

TEST(LlmClient, HoldsTokenRateMeasuredAtTheServer) {
  FakeLlmServer server(echo);
  server.set_completion_tokens(40);
  LlmOptions o = fast_options(server);
  o.limits.tokens_per_minute = 60000;  // burst 1000 tokens, then 59000 / 60 per second
  o.limits.concurrency = 2;
  LlmClient client(o, nullptr);
  const int n = 40;
  expect_all_echoed(client.complete_all(echo_requests(n)), n);
  auto log = server.requests();
  ASSERT_EQ(log.size(), static_cast<size_t>(n));
  int64_t total = 0;
  for (const auto& r : log) total += r.usage_tokens;
  EXPECT_EQ(client.stats().prompt_tokens + client.stats().completion_tokens, total);
  // Requests are admitted on an estimate (prompt only) before usage is known: at most
  // `concurrency` replies' completion tokens can be unaccounted for at any moment.
  const double burst = 1000, rate = 59000.0 / 60, slack = 2 * 40;
  for (size_t i = 0; i < log.size(); ++i) {
    int64_t sum = 0;
    for (size_t j = i; j < log.size(); ++j) {
      sum += log[j].usage_tokens;
      double window = log[j].time_s - log[i].time_s;
      ASSERT_LE(double(sum), burst + rate * window + slack + 5) << i << ".." << j;
    }
  }
  EXPECT_GE(log.back().time_s - log.front().time_s, (total - burst - slack) / rate - 0.05);
}

TEST(LlmClient, NeverExceedsTheConcurrencyLimit) {
  FakeLlmServer server(echo, [](int, const json&) { return Fault{FaultKind::slow, 0.08}; });
  LlmOptions o = fast_options(server);
  o.limits.concurrency = 3;
  LlmClient client(o, nullptr);
  expect_all_echoed(client.complete_all(echo_requests(12)), 12);
  EXPECT_LE(server.max_in_flight(), 3);
  EXPECT_GE(server.max_in_flight(), 2);  // and it does run requests in parallel
}

TEST(LlmClient, UnauthorizedStopsTheRunAtOnceWithoutLeakingTheKey) {
  ::setenv("LETHE_TEST_LLM_KEY", "sk-test-secret-123", 1);
  FakeLlmServer server(echo, [](int, const json&) { return Fault{FaultKind::unauthorized}; });
  LlmOptions o = fast_options(server);
  o.limits.concurrency = 2;
  LlmClient client(o, nullptr);
  std::string message;
  try {
    client.complete_all(echo_requests(30));
    ADD_FAILURE() << "no error";
  } catch (const AuthError& e) {
    message = e.what();
  }
  ::unsetenv("LETHE_TEST_LLM_KEY");
  EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
  EXPECT_NE(message.find("$LETHE_TEST_LLM_KEY"), std::string::npos) << message;
  EXPECT_NE(message.find("Incorrect API key"), std::string::npos) << message;
  EXPECT_EQ(message.find("sk-test-secret-123"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_LE(server.request_count(), 2);  // no retries, no further requests
  EXPECT_EQ(server.requests()[0].authorization, "Bearer sk-test-secret-123");
}

TEST(LlmClient, RerunIsServedFromTheCacheAndAKilledRunResumes) {
  std::string dir = test::make_temp_dir("llm_cache");
  std::string db = dir + "/cache.sqlite";
  ::setenv("LETHE_TEST_LLM_KEY", "sk-cache-secret", 1);
  // First run dies (401) after 5 replies: those stay in the cache.
  {
    FakeLlmServer server(
        echo, [](int n, const json&) { return n < 5 ? Fault{} : Fault{FaultKind::unauthorized}; });
    LlmOptions o = fast_options(server);
    o.limits.concurrency = 1;
    RequestCache cache(db);
    LlmClient client(o, &cache);
    EXPECT_THROW(client.complete_all(echo_requests(12)), AuthError);
    EXPECT_EQ(cache.size(), 5);
  }
  // The resumed run asks the server only for the 7 missing replies.
  std::vector<std::optional<json>> first;
  {
    FakeLlmServer server(echo);
    RequestCache cache(db);
    LlmClient client(fast_options(server), &cache);
    first = client.complete_all(echo_requests(12));
    expect_all_echoed(first, 12);
    EXPECT_EQ(server.request_count(), 7);
    EXPECT_EQ(client.stats().cache_hits, 5);
    EXPECT_EQ(cache.size(), 12);
  }
  // A rerun makes no request at all and gives the same replies.
  {
    FakeLlmServer server(echo);
    RequestCache cache(db);
    LlmClient client(fast_options(server), &cache);
    auto again = client.complete_all(echo_requests(12));
    EXPECT_EQ(server.request_count(), 0);
    EXPECT_EQ(again, first);
    // A changed request (another seed) is a miss.
    auto changed = echo_requests(1);
    changed[0].seed = 99;
    EXPECT_TRUE(client.complete(changed[0]).has_value());
    EXPECT_EQ(server.request_count(), 1);
  }
  ::unsetenv("LETHE_TEST_LLM_KEY");
  // The API key is in neither the cache file nor the cache key.
  std::string bytes = core::read_file(db);
  for (const char* f : {"-wal", "-shm"})
    if (std::filesystem::exists(db + f)) bytes += core::read_file(db + f);
  EXPECT_EQ(bytes.find("sk-cache-secret"), std::string::npos);
  EXPECT_NE(bytes.find("Echo ID=3"), std::string::npos);  // (the requests are there)
  std::filesystem::remove_all(dir);
}

TEST(LlmClient, DropsAndCountsAReplyThatStaysInvalid) {
  FakeLlmServer server(echo, [](int, const json&) { return Fault{FaultKind::invalid_schema}; });
  LlmOptions o = fast_options(server);
  o.max_invalid_retries = 2;
  LlmClient client(o, nullptr);
  auto results = client.complete_all(echo_requests(3));
  for (const auto& r : results) EXPECT_FALSE(r.has_value());
  LlmStats s = client.stats();
  EXPECT_EQ(s.dropped, 3);
  EXPECT_EQ(s.invalid, 9);
  EXPECT_EQ(server.request_count(), 9);  // 1 + 2 follow-ups each, then given up
  EXPECT_NE(s.last_drop_reason.find("field 'id' missing"), std::string::npos) << s.last_drop_reason;
}

TEST(LlmClient, UnreachableEndpointFailsWithOneLine) {
  // A port that was free a moment ago: connection refused.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  LlmOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  o.model = "m";
  o.max_attempts = 3;
  o.backoff_base_s = 0.001;
  LlmClient client(o, nullptr);
  try {
    client.complete_all(echo_requests(4));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("after 3 attempts"), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string(port)), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
}

TEST(LlmClient, FallsBackToJsonInTextWithoutStructuredOutput) {
  FakeLlmServer server(echo, [](int, const json&) { return Fault{FaultKind::wrapped_text}; });
  server.reject_response_format(true);
  LlmOptions o = fast_options(server);
  o.limits.concurrency = 1;
  LlmClient client(o, nullptr);
  expect_all_echoed(client.complete_all(echo_requests(3)), 3);
  auto log = server.requests();
  ASSERT_EQ(log.size(), 4u);  // one 400, then 3 answers without response_format
  EXPECT_TRUE(log[0].body.contains("response_format"));
  for (size_t i = 1; i < log.size(); ++i) EXPECT_FALSE(log[i].body.contains("response_format"));
}

TEST(LlmClient, RejectsBadOptionsWithOneLine) {
  LlmOptions o;
  o.model = "m";
  o.base_url = "localhost:8000";
  EXPECT_THROW(LlmClient(o, nullptr), Error);
  o.base_url = "http://localhost:8000/v1";
  o.model = "";
  EXPECT_THROW(LlmClient(o, nullptr), Error);
}

}  // namespace
}  // namespace lethe::datagen
