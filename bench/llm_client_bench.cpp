// Overhead of lethe's LLM client and dedup, without a model: requests/s of LlmClient (libcurl,
// JSON, schema check, cache) against the in-process fake OpenAI server, and deduplicate() texts/s.
// Build and run: bench/llm_client_bench.sh (after building build/ or BUILD=build-x).
#include <chrono>
#include <cstdio>

#include "datagen/dedup.h"
#include "datagen/llm_client.h"
#include "datagen/llm_fake_server.h"

using namespace lethe;
using nlohmann::json;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

int main() {
  test::FakeLlmServer server([](const json& body) {
    return json{{"id", body["seed"]}, {"text", "reply"}};
  });
  json schema = json::parse(R"({"type":"object","required":["id","text"],
    "properties":{"id":{"type":"integer"},"text":{"type":"string"}}})");
  const int n = 400;
  for (bool cached : {false, true})
    for (int concurrency : {1, 4, 8}) {
      datagen::LlmOptions o;
      o.base_url = server.base_url();
      o.model = "bench-" + std::to_string(concurrency);
      o.limits.concurrency = concurrency;
      datagen::RequestCache cache("");
      datagen::LlmClient client(o, cached ? &cache : nullptr);
      std::vector<datagen::ChatRequest> requests(n);
      for (int i = 0; i < n; ++i) {
        requests[i].messages = {{{"role", "user"}, {"content", std::string(2000, 'x')}}};
        requests[i].schema = schema;
        requests[i].seed = i;
      }
      if (cached) client.complete_all(requests);  // fill the cache
      auto t = std::chrono::steady_clock::now();
      client.complete_all(requests);
      double s = seconds_since(t);
      std::printf("client %-8s concurrency %d: %d requests in %.3f s = %.0f requests/s\n",
                  cached ? "(cache)" : "(http)", concurrency, n, s, n / s);
    }
  std::vector<std::string> texts;
  for (int i = 0; i < 20000; ++i)
    texts.push_back("Person " + std::to_string(i % 15000) + " was born in city " +
                    std::to_string(i * 7 % 991) + " and studied subject " + std::to_string(i % 37) +
                    " at university " + std::to_string(i % 113) + ".");
  auto t = std::chrono::steady_clock::now();
  auto r = datagen::deduplicate(texts);
  double s = seconds_since(t);
  std::printf("dedup: %zu texts in %.3f s = %.0f texts/s (%zu duplicates)\n", texts.size(), s,
              texts.size() / s, r.duplicates.size());
  return 0;
}
