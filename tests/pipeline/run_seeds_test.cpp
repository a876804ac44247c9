// `lethe run` with `seeds: 2` end to end on a tiny world and base model (as run_crash_test.cpp
// keeps runs to seconds): one complete run per seed in OUT/seed-S/ with its own data, then
// OUT/aggregate.json whose per-seed values are each seed's own evaluation aggregates; a rerun (with
// --seeds instead of the config key) reuses every seed's stages and rewrites the same aggregate.
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "datagen/generate.h"
#include "eval/results_schema.h"
#include "expect_close.h"
#include "pipeline/pipeline.h"
#include "tiny_pretrain.h"
#include "train/pretrain.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Three intensities and grad_ascent + npo, so every replication claim has its models; privleak
// needs more examples than this world has, so the metrics are chosen.
constexpr const char* kRunConfig = R"(seed: 7
seeds: 2
max_length: 256
data: {targets: 1, background: 1, holdout: 1, sf_per_target: 1, correlated_per_target: 1,
       other_per_target: 1, world_country_qa: 1}
finetune: {epochs: 1, batch_size: 8}
retain_only: {}
unlearn: {intensities: {light: 1, medium: 2, heavy: 3}, methods: {grad_ascent: {}, npo: {}}}
eval: {max_new_tokens: 2, limit: 2, metrics: [rouge_l, truth_ratio, forget_quality, model_utility]}
quantize: {schemes: [int8], limit: 1}
relearn: {examples: 2, steps: [1]}
repr: {layers: [all], limit: 2}
)";

class RunSeeds : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    core::Progress::set_quiet(true);
    dir_ = new fs::path(test::make_temp_dir("run_seeds"));
    datagen::GenerateOptions g;
    g.out_dir = (*dir_ / "world").string();
    g.seed = 7;
    g.targets = 1;
    g.background = 1;
    g.holdout = 1;
    g.other_per_target = 1;
    g.world_country_qa = 1;
    g.check = false;
    datagen::generate_dataset(g);
    auto p = test::tiny_pretrain_config((*dir_ / "world" / "corpus.jsonl").string(),
                                        (*dir_ / "base").string(), 128, 16);
    p.train.max_steps = 4;
    train::run_pretrain(p, false);
    core::write_file_atomic(*dir_ / "tiny.yaml", kRunConfig);
    first_ = new pipeline::RunSummary(pipeline::run_pipeline(options()));
    first_aggregate_ = new std::string(core::read_file(*dir_ / "run" / "aggregate.json"));
    // The rerun says `--seeds 2` instead of `seeds: 2`: the same runs, so every stage is reused.
    std::string without = kRunConfig;
    without.erase(without.find("seeds: 2\n"), 9);
    core::write_file_atomic(*dir_ / "tiny_no_seeds.yaml", without);
    pipeline::RunOptions again = options();
    again.config_file = *dir_ / "tiny_no_seeds.yaml";
    again.seeds = 2;
    second_ = new pipeline::RunSummary(pipeline::run_pipeline(again));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete first_;
    delete second_;
    delete first_aggregate_;
  }
  static pipeline::RunOptions options() {
    pipeline::RunOptions o;
    o.quick = true;
    o.config_file = *dir_ / "tiny.yaml";
    o.model = (*dir_ / "base").string();
    o.out = *dir_ / "run";
    return o;
  }
  static fs::path* dir_;
  static pipeline::RunSummary *first_, *second_;
  static std::string* first_aggregate_;
};
fs::path* RunSeeds::dir_ = nullptr;
pipeline::RunSummary* RunSeeds::first_ = nullptr;
pipeline::RunSummary* RunSeeds::second_ = nullptr;
std::string* RunSeeds::first_aggregate_ = nullptr;

TEST_F(RunSeeds, EachSeedIsACompleteRunWithItsOwnData) {
  const fs::path run = *dir_ / "run";
  ASSERT_EQ(first_->seeds.size(), 2u);
  EXPECT_EQ(first_->seeds[0].seed, 7u);
  EXPECT_EQ(first_->seeds[1].seed, 8u);
  EXPECT_EQ(first_->failed, 0);
  for (const char* seed : {"seed-7", "seed-8"}) {
    for (const char* file :
         {"config.yaml", "run.json", "data/sf.jsonl", "results/eval_results.json",
          "models/finetuned_adapter/adapter_model.safetensors", "report.html"})
      EXPECT_TRUE(fs::exists(run / seed / file)) << seed << "/" << file;
    // The seed's config is a normal run's: its own seed, no `seeds` key.
    const std::string config = core::read_file(run / seed / "config.yaml");
    EXPECT_EQ(config.find("\nseeds:"), std::string::npos) << config;
    EXPECT_NE(config.find(std::string("seed: ") + (seed + 5)), std::string::npos) << config;
    EXPECT_EQ(core::read_json(run / seed / "run.json")["seed"], std::stoi(seed + 5));
  }
  // Data are seeded: the two benchmarks differ.
  EXPECT_NE(core::read_file(run / "seed-7" / "data" / "sf.jsonl"),
            core::read_file(run / "seed-8" / "data" / "sf.jsonl"));
  EXPECT_TRUE(fs::exists(run / "report.html"));
  EXPECT_NE(core::read_file(run / "config.yaml").find("\nseeds: 2"), std::string::npos);
  const json top = core::read_json(run / "run.json");
  EXPECT_EQ(top["seeds"].size(), 2u);
}

TEST_F(RunSeeds, AggregateHoldsEachSeedsOwnNumbers) {
  const fs::path run = *dir_ / "run";
  const json a = core::read_json(run / "aggregate.json");
  EXPECT_EQ(a["seeds"], json::array({7, 8}));
  EXPECT_EQ(a["folders"], json::array({"seed-7", "seed-8"}));
  for (const char* key :
       {"bootstrap", "models", "intensities", "shape", "seed_level", "gap_tests", "replication"})
    EXPECT_TRUE(a.contains(key)) << key;
  EXPECT_EQ(a["replication"].size(), 5u);
  for (const auto& claim : a["replication"]) {
    const std::string v = claim["verdict"];
    EXPECT_TRUE(v == "reproduced" || v == "not reproduced" || v == "inconclusive") << v;
  }
  namespace k = eval::schema;
  // The recomputation from per-question rows gives the evaluator's own aggregates, seed by seed.
  const std::vector<std::pair<const char*, std::vector<const char*>>> keys = {
      {"retain_correlated_rouge_l", {k::kRetainCorrelated, k::kRougeLRecall}},
      {"retain_other_rouge_l", {k::kRetainOther, k::kRougeLRecall}},
      {"forget_rouge_l", {k::kForget, k::kRougeLRecall}},
      {"forget_truth_ratio", {k::kForget, k::kTruthRatio}},
      {"forget_quality", {k::kForgetQuality}},
      {"model_utility", {k::kModelUtility}}};
  int compared = 0;
  for (size_t s = 0; s < 2; ++s) {
    const json eval =
        core::read_json(run / a["folders"][s].get<std::string>() / "results" / "eval_results.json");
    for (const auto& [model, entry] : eval["models"].items()) {
      ASSERT_TRUE(a["models"].contains(model)) << model;
      const json& aggregates = entry["aggregates"];
      for (const auto& [key, path] : keys) {
        const auto want = path.size() == 2 ? k::set_metric(aggregates, path[0], path[1])
                                           : k::model_metric(aggregates, path[0]);
        const json& got = a["models"][model]["metrics"][key]["per_seed"][s];
        if (!want) continue;
        ASSERT_TRUE(got.is_number()) << model << " " << key;
        EXPECT_NEAR(got.get<double>(), *want, 1e-9) << model << " " << key << " seed " << s;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 40);
  // The mean is the mean of the seeds; the interval contains it.
  const json& fq = a["models"]["finetuned"]["metrics"]["forget_rouge_l"];
  EXPECT_NEAR(fq["mean"].get<double>(),
              (fq["per_seed"][0].get<double>() + fq["per_seed"][1].get<double>()) / 2, 1e-12);
  EXPECT_LE(fq["lo"].get<double>(), fq["mean"].get<double>() + 1e-12);
  EXPECT_GE(fq["hi"].get<double>(), fq["mean"].get<double>() - 1e-12);
  // The summary shows the intervals and the replication section.
  const std::string text = pipeline::format_run_summary(*first_);
  EXPECT_NE(text.find("replication of the study's claims (2 seeds"), std::string::npos) << text;
  EXPECT_NE(text.find("aggregate.json"), std::string::npos);
}

TEST_F(RunSeeds, RerunReusesEverySeedAndRewritesTheSameAggregate) {
  ASSERT_EQ(second_->seeds.size(), 2u);
  for (const auto& seed : second_->seeds)
    for (const auto& s : seed.stages)
      EXPECT_TRUE(s.status == "reused" || s.status == "unavailable")
          << "seed " << seed.seed << " " << s.name << ": " << s.status;
  EXPECT_EQ(core::read_file(*dir_ / "run" / "aggregate.json"), *first_aggregate_);
}

}  // namespace
}  // namespace lethe
