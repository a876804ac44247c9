// End-to-end LLM generation of a tiny dataset through the fake server (with faults), the quality
// checks on the result, the cache on a rerun; prompt templates; dedup.
#include "datagen/llm_generator.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "core/sha256.h"
#include "datagen/dedup.h"
#include "datagen/generate.h"
#include "datagen/llm_fake_server.h"
#include "datagen/llm_fake_world.h"
#include "datagen/offline_generator.h"
#include "datagen/quality_checks.h"
#include "expect_close.h"
#include "lethe_source_dir.h"

namespace lethe::datagen {
namespace {

using test::FakeLlmServer;
using test::Fault;
using test::FaultKind;

GenerateOptions tiny_options(const std::string& out) {
  GenerateOptions o;
  o.out_dir = out;
  o.backend = "openai";
  o.seed = 7;
  o.targets = 3;
  o.background = 4;
  o.holdout = 2;
  o.sf_per_target = 2;
  o.correlated_per_target = 2;
  o.other_per_target = 3;
  o.world_person_qa = 1;
  o.world_country_qa = 5;
  o.perturbed = 5;
  o.paraphrased_questions = 2;
  o.corpus_phrasings = 2;
  o.corpus_prose = 1;
  o.model = "fake-model";
  return o;
}

LlmGenerateSettings tiny_settings(const FakeLlmServer& server, const std::string& cache) {
  LlmGenerateSettings s;
  s.client.base_url = server.base_url();
  s.client.backoff_base_s = 0.002;
  s.client.backoff_max_s = 0.02;
  s.client.request_timeout_s = 5;
  s.client.limits.concurrency = 4;
  s.cache_path = cache;
  s.people_per_request = 3;
  return s;
}

const Backend kLlmBackend{"openai", kLlmGeneratorName, kLlmGeneratorVersion, generate_with_llm};

TEST(LlmGenerator, MakesAValidDatasetThroughAFaultyServerAndRerunsFromTheCache) {
  std::string dir = test::make_temp_dir("llm_gen");
  std::string cache = dir + "/cache.sqlite";
  GenerateOptions opt = tiny_options(dir + "/a");
  // Every other distinct request fails on its first arrival (500, 429, truncated JSON,
  // schema-invalid JSON in turn); its retries and follow-ups succeed.
  std::mutex m;
  std::set<std::string> seen;
  FakeLlmServer server(test::fake_world_reply, [&](int, const json& body) {
    std::string key = body["messages"].dump();
    std::lock_guard<std::mutex> lock(m);
    if (body["messages"].size() != 2 || !seen.insert(key).second) return Fault{};
    size_t k = seen.size() - 1;
    if (k % 2 == 0) return Fault{};
    static const FaultKind kinds[] = {FaultKind::server_error, FaultKind::rate_limit,
                                      FaultKind::truncated_json, FaultKind::invalid_schema};
    return Fault{kinds[(k / 2) % 4], 0.01};
  });
  opt.llm = tiny_settings(server, cache);
  data::Dataset d = generate_with_llm(opt);
  write_dataset(d, opt.out_dir, opt, kLlmBackend);
  int first_requests = server.request_count();

  EXPECT_EQ(d.profiles.size(), 9u);
  EXPECT_EQ(d.sf.size(), 3u * 2);
  EXPECT_EQ(d.sr.size(), 3u * 5);
  EXPECT_EQ(d.wrong_details.size(), 3u * 7);
  EXPECT_EQ(d.holdout.size(), 2u * 2);
  EXPECT_EQ(d.world.size(), 4u * 1 + 5);
  EXPECT_EQ(d.forget_eval.size(), 6u * (2 + 7));  // 2 paraphrases + 7 other probe types
  GenerateOptions countries_only = opt;
  countries_only.targets = 1;
  countries_only.background = countries_only.holdout = 0;
  size_t country_docs = 0;
  for (const auto& c : generate_offline(countries_only).corpus) country_docs += c.person_id.empty();
  ASSERT_GT(country_docs, 0u);
  EXPECT_EQ(d.corpus.size(), 4u * (8 * 2 + 1) + country_docs);
  std::set<std::string> first_names;
  for (const auto& p : d.profiles) first_names.insert(p.name.substr(0, p.name.find(' ')));
  EXPECT_EQ(first_names.size(), d.profiles.size());

  // The red-team checks pass on the written files (corpus_size is a soft check).
  QualityReport report = check_dataset_dir(opt.out_dir);
  for (const auto& c : report.checks)
    if (c.hard)
      EXPECT_TRUE(c.passed()) << c.name << ": " << (c.messages.empty() ? "" : c.messages[0]);
  data::Dataset loaded = data::load_dataset(opt.out_dir);
  EXPECT_EQ(loaded.sf.size(), d.sf.size());

  json gen = core::read_json(opt.out_dir + "/llm_generation.json");
  EXPECT_GT(gen["totals"]["retried"].get<int>(), 0);
  EXPECT_GT(gen["totals"]["invalid_replies"].get<int>(), 0);
  EXPECT_EQ(gen["totals"]["dropped"], 0);
  EXPECT_EQ(gen["diversity"]["people"], 9);
  EXPECT_EQ(gen["totals"]["http_requests"], first_requests);

  // A rerun from the cache makes no request and writes the same bytes.
  GenerateOptions again = opt;
  again.out_dir = dir + "/b";
  data::Dataset d2 = generate_with_llm(again);
  write_dataset(d2, again.out_dir, again, kLlmBackend);
  EXPECT_EQ(server.request_count(), first_requests);
  for (const auto& name : data::dataset_jsonl_files())
    EXPECT_EQ(core::sha256_file(opt.out_dir + "/" + name),
              core::sha256_file(again.out_dir + "/" + name))
        << name;
  std::filesystem::remove_all(dir);
}

TEST(LlmGenerator, AModelThatNeverReturnsValidJsonFailsWithOneLine) {
  std::string dir = test::make_temp_dir("llm_gen_bad");
  FakeLlmServer server(test::fake_world_reply,
                       [](int, const json&) { return Fault{FaultKind::invalid_schema}; });
  GenerateOptions opt = tiny_options(dir + "/out");
  opt.llm = tiny_settings(server, dir + "/cache.sqlite");
  opt.llm.client.max_invalid_retries = 1;
  opt.background = 0;
  opt.holdout = 0;
  try {
    generate_with_llm(opt);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("returned no valid reply for any of the 2 people requests"), std::string::npos)
        << m;
    EXPECT_NE(m.find("field 'people' missing"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
  json gen = core::read_json(dir + "/out/llm_generation.json");
  EXPECT_TRUE(gen.contains("error"));
  std::filesystem::remove_all(dir);
}

TEST(LlmGenerator, FillTemplateReplacesPlaceholdersAndRejectsUnknownOnes) {
  EXPECT_EQ(fill_template("Hi {name}, {count} left; JSON {\"a\": 1}",
                          {{"name", "Ana"}, {"count", "3"}}, "t.txt"),
            "Hi Ana, 3 left; JSON {\"a\": 1}");
  try {
    fill_template("Hi {nam}", {{"name", "Ana"}}, "prompts/x.txt");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "prompts/x.txt: unknown placeholder {nam}");
  }
  // The repository's templates use only the placeholders the generator fills.
  for (const char* name : {"people.txt", "facts.txt", "qa.txt", "probes.txt", "system.txt"})
    EXPECT_TRUE(std::filesystem::exists(std::string(LETHE_SOURCE_DIR) + "/prompts/" + name))
        << name;
}

TEST(LlmDedup, FindsExactAndNearDuplicatesDeterministically) {
  std::vector<std::string> texts = {
      "Where was Mei Tanaka born?",
      "where was mei tanaka born",           // exact after normalisation
      "In which city was Mei Tanaka born?",  // different enough
      "Mei Tanaka opened her first restaurant in Osaka in 2004 with her brother Ken.",
      "Mei Tanaka opened her first restaurant in Osaka in 2004 with her brother Kenji.",  // near
      "Jonas Berg won the national chess title twice."};
  DedupResult r = deduplicate(texts, DedupOptions{2, 64, 16, 0.7});
  EXPECT_EQ(r.keep, (std::vector<size_t>{0, 2, 3, 5}));
  ASSERT_EQ(r.duplicates.size(), 2u);
  EXPECT_EQ(r.duplicates[0].index, 1u);
  EXPECT_EQ(r.duplicates[0].original, 0u);
  EXPECT_TRUE(r.duplicates[0].exact);
  EXPECT_EQ(r.duplicates[1].index, 4u);
  EXPECT_EQ(r.duplicates[1].original, 3u);
  EXPECT_FALSE(r.duplicates[1].exact);
  EXPECT_NEAR(r.duplicates[1].jaccard, 12.0 / 14.0, 1e-9);
  // Jaccard itself, on hand-counted shingle sets.
  EXPECT_NEAR(jaccard(shingles("a b c d", 2), shingles("a b c e", 2)), 2.0 / 4.0, 1e-12);
  DedupResult again = deduplicate(texts, DedupOptions{2, 64, 16, 0.7});
  EXPECT_EQ(again.keep, r.keep);
  EXPECT_THROW(deduplicate(texts, DedupOptions{2, 64, 10, 0.7}), Error);
}

}  // namespace
}  // namespace lethe::datagen
