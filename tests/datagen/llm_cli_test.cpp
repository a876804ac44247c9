// `lethe data generate --backend openai` end to end: the CLI binary against the in-process fake
// server.
#include <gtest/gtest.h>

#include <filesystem>

#include "datagen/llm_fake_server.h"
#include "datagen/llm_fake_world.h"
#include "expect_close.h"

namespace lethe::datagen {
namespace {

using test::FakeLlmServer;
using test::Fault;
using test::FaultKind;

std::string generate_args(const FakeLlmServer& server, const std::string& out,
                          const std::string& cache) {
  return "data generate --backend openai --base-url " + server.base_url() +
         " --model fake-model --api-key-env LETHE_CLI_TEST_KEY --out " + out + " --cache " + cache +
         " --targets 2 --background 3 --holdout 1 --sf-per-target 2 --correlated-per-target 2"
         " --other-per-target 2 --world-country-qa 4 --concurrency 3 --backoff 0.001 --rpm 6000"
         " --quiet";
}

TEST(LlmCli, GeneratesThroughTheServerAndRerunsFromTheCache) {
  std::string dir = test::make_temp_dir("llm_cli");
  FakeLlmServer server(test::fake_world_reply);
  std::string output;
  int rc = test::run_lethe(generate_args(server, dir + "/a", dir + "/cache.sqlite"), &output);
  ASSERT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("lethe-llm"), std::string::npos) << output;
  EXPECT_NE(output.find("quality checks: passed"), std::string::npos) << output;
  int requests = server.request_count();
  EXPECT_GT(requests, 0);
  for (const char* f : {"sf.jsonl", "sr.jsonl", "forget_eval.jsonl", "manifest.json",
                        "llm_generation.json", "quality_report.txt"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/a/" + f)) << f;
  rc = test::run_lethe(generate_args(server, dir + "/b", dir + "/cache.sqlite"), &output);
  ASSERT_EQ(rc, 0) << output;
  EXPECT_EQ(server.request_count(), requests);  // everything from the cache
  std::filesystem::remove_all(dir);
}

TEST(LlmCli, AuthErrorsAndUnreachableEndpointsAreOneLineErrors) {
  std::string dir = test::make_temp_dir("llm_cli_err");
  std::string output;
  {
    FakeLlmServer server(test::fake_world_reply,
                         [](int, const nlohmann::json&) { return Fault{FaultKind::unauthorized}; });
    int rc = test::run_lethe(generate_args(server, dir + "/a", dir + "/cache.sqlite"), &output);
    EXPECT_EQ(rc, 1) << output;
    EXPECT_NE(output.find("lethe: error: llm: HTTP 401"), std::string::npos) << output;
    EXPECT_NE(output.find("$LETHE_CLI_TEST_KEY"), std::string::npos) << output;
    EXPECT_LE(server.request_count(), 3);  // at most one per worker
  }
  int rc = test::run_lethe(
      "data generate --backend openai --base-url http://127.0.0.1:1/v1 --model m --out " + dir +
          "/b --max-attempts 2 --backoff 0.001 --quiet",
      &output);
  EXPECT_EQ(rc, 1) << output;
  EXPECT_NE(output.find("after 2 attempts"), std::string::npos) << output;
  size_t at = output.find("lethe: error: llm:");
  ASSERT_NE(at, std::string::npos) << output;
  EXPECT_EQ(output.find('\n', at), output.size() - 1) << output;  // one line, the last
  rc = test::run_lethe("data generate --help", &output);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(output.find("--rpm"), std::string::npos);
  EXPECT_NE(output.find("--cache"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lethe::datagen
