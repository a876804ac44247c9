// Sweeps: grid expansion and names, sharding, the status index, resume after completion, after a
// kill mid-run and after a failure, and epoch checkpoints that equal separate runs (constant LR).
#include "train/sweep.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "io/peft_adapter.h"
#include "sweep_fixture.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json with_out(const std::string& text, const fs::path& out) {
  json j = json::parse(text);
  j["out"] = out.string();
  return j;
}

class Sweep : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Progress::set_quiet(true);
    dir_ = fs::path(test::make_temp_dir("sweep"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Trains a group on the fixture with token-id data; counts the calls.
  train::SweepRunner runner(std::atomic<int>* calls) {
    return [calls](const train::UnlearnConfig& config, const fs::path& run_dir, bool resume) {
      ++*calls;
      auto m = test::finetuned_tiny();
      train::TrainData data{test::token_examples(3, 8), {}, {}, 0};
      return train::unlearn_model(m, data, config.train, "qwen2-tiny", run_dir, resume);
    };
  }
  fs::path dir_;
};

TEST_F(Sweep, NumbersAndNamesFollowTheStudyLayout) {
  EXPECT_EQ(train::format_sweep_number(1e-4), "1e-4");
  EXPECT_EQ(train::format_sweep_number(2.5e-5), "2.5e-5");
  EXPECT_EQ(train::format_sweep_number(0.1), "0.1");
  EXPECT_EQ(train::format_sweep_number(2), "2");
  auto spec = train::parse_sweep(json::parse(R"({"out": "models", "model": "m", "adapter": "a",
      "forget": "f", "retain": "r", "methods": {
        "npo": {"learning_rate": 1e-4, "epochs": [5, 10, 20], "params": {"beta": [0.1, 0.5]}},
        "grad_diff": {"learning_rate": [1e-5, 2e-5], "epochs": 5, "params": {"retain_weight": [1]}}}})"),
                                 "test.yaml");
  const auto configs = spec.configs();
  ASSERT_EQ(configs.size(), 8u);
  // Methods in file order (nlohmann sorts object keys: grad_diff first), epochs innermost.
  std::vector<std::string> names;
  for (const auto& c : configs) names.push_back(c.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "unlearn_npo_lr1e-4_beta0.1_ep10"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "unlearn_grad_diff_lr2e-5_retain_weight1_ep5"),
            names.end());
  // Constant LR: epochs 5, 10, 20 come from one run of 20 epochs with exports at 5, 10, 20.
  ASSERT_EQ(spec.groups.size(), 4u);
  for (const auto& g : spec.groups) {
    if (g.config.train.objective != "npo") continue;
    EXPECT_EQ(g.configs.size(), 3u);
    EXPECT_EQ(g.config.train.epochs, 20);
    EXPECT_EQ(g.config.train.save_epochs, (std::vector<int64_t>{5, 10, 20}));
  }
}

TEST_F(Sweep, ScheduleThatDependsOnLengthGetsOneRunPerEpochCount) {
  auto spec =
      train::parse_sweep(json::parse(R"({"out": "o", "model": "m", "adapter": "a", "forget": "f",
      "lr_scheduler": "cosine", "methods": {"grad_ascent": {"learning_rate": 1e-5, "epochs": [5, 10]}}})"),
                         "t");
  ASSERT_EQ(spec.groups.size(), 2u);
  EXPECT_EQ(spec.groups[1].config.train.epochs, 10);
  EXPECT_TRUE(spec.groups[1].config.train.save_epochs.empty());
}

TEST_F(Sweep, BadGridsNameTheProblem) {
  auto parse = [](const std::string& text) { train::parse_sweep(json::parse(text), "s.yaml"); };
  try {
    parse(R"({"out": "o", "methods": {"nope": {"learning_rate": 1e-5}}})");
    FAIL() << "unknown method accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("grad_ascent"), std::string::npos) << e.what();
  }
  try {
    parse(R"({"out": "o", "methods": {"npo": {"params": {"gamma": [1]}}}})");
    FAIL() << "unknown parameter accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("valid: beta"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse(R"({"out": "o", "methods": {"npo": {"epochs": []}}})"), Error);
  EXPECT_THROW(parse(R"({"out": "o", "methods": {"npo": {"epochs": [0]}}})"), Error);
  EXPECT_THROW(parse(R"({"out": "o", "methods": {"npo": {"learning_rate": [1e-5, 1e-5]}}})"),
               Error);
  EXPECT_THROW(parse(R"({"methods": {"npo": {}}})"), Error);                          // no out
  EXPECT_THROW(parse(R"({"out": "o", "methods": {}})"), Error);                       // no methods
  EXPECT_THROW(parse(R"({"out": "o", "bogus": 1, "methods": {"npo": {}}})"), Error);  // unknown key
  EXPECT_THROW(parse(R"({"out": "o", "epochs": 3, "methods": {"npo": {}}})"), Error);  // swept key
  // Full-parameter unlearning writes model folders, not the adapters a sweep indexes.
  try {
    parse(R"({"out": "o", "parameters": "full", "methods": {"npo": {}}})");
    FAIL() << "parameters: full accepted in a sweep";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s.yaml: methods.npo: parameters: full is not supported"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(Sweep, ShardsPartitionTheGridDisjointlyAndCompletely) {
  auto spec =
      train::parse_sweep(json::parse(R"({"out": "o", "model": "m", "adapter": "a", "forget": "f",
      "lr_scheduler": "linear", "methods": {"npo": {"learning_rate": [1, 2, 3], "epochs": [1, 2, 3],
      "params": {"beta": [0.1, 0.2]}}}})"),
                         "t");
  ASSERT_EQ(spec.groups.size(), 18u);
  for (int64_t n : {1, 2, 3, 4, 7}) {
    std::vector<int> owners(spec.groups.size(), 0);
    for (int64_t i = 0; i < n; ++i)
      for (size_t g = 0; g < spec.groups.size(); ++g)
        if (train::in_shard(g, {i, n})) ++owners[g];
    for (int count : owners) EXPECT_EQ(count, 1) << "n=" << n;
  }
  const auto s = train::parse_shard("2/5");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 5);
  for (const char* bad : {"5/5", "-1/2", "1", "a/2", "1/0", "1/2x"})
    EXPECT_THROW(train::parse_shard(bad), UsageError) << bad;
}

TEST_F(Sweep, RunsWritesIndexSkipsDoneAndRedoesAKilledConfig) {
  const fs::path out = dir_ / "models";
  auto spec =
      train::parse_sweep(with_out(R"({"model": "m", "adapter": "a", "forget": "f", "batch_size": 4,
        "methods": {"npo": {"learning_rate": [1e-3, 5e-3], "epochs": [1, 2], "params": {"beta": 0.1}}}})",
                                  out),
                         "t");
  ASSERT_EQ(spec.configs().size(), 4u);
  std::atomic<int> calls{0};
  auto summary = train::run_sweep(spec, {0, 1}, runner(&calls));
  EXPECT_EQ(calls.load(), 2);  // two learning rates, epochs 1 and 2 from one run each
  EXPECT_EQ(summary.done, 4);
  EXPECT_EQ(summary.failed, 0);
  const json index = core::read_json(out / "sweep_index.json");
  ASSERT_EQ(index["configs"].size(), 4u);
  for (const auto& c : index["configs"]) {
    EXPECT_EQ(c["status"], "done") << c.dump();
    const fs::path dir = out / c["name"].get<std::string>();
    EXPECT_TRUE(fs::exists(dir / "adapter_model.safetensors")) << dir;
    EXPECT_TRUE(fs::exists(dir / "config.yaml"));
    auto adapter = io::load_adapter(dir);  // a valid PEFT folder
    EXPECT_EQ(adapter.config.r, 4);
    // metrics up to this config's epoch: 8 examples / batch 4 = 2 steps per epoch
    EXPECT_EQ(core::read_jsonl(dir / "metrics.jsonl").size(), 2u * c["epochs"].get<size_t>());
  }
  EXPECT_FALSE(fs::exists(out / ".sweep_runs" / "unlearn_npo_lr1e-3_beta0.1"));

  // Two exports of one run: epoch 1 and epoch 2 differ.
  auto ep1 = io::load_adapter(out / "unlearn_npo_lr1e-3_beta0.1_ep1");
  auto ep2 = io::load_adapter(out / "unlearn_npo_lr1e-3_beta0.1_ep2");
  const auto& key = ep1.modules.begin()->first;
  EXPECT_FALSE(torch::equal(ep1.modules[key].lora_B, ep2.modules[key].lora_B));

  // Rerun: everything is done, nothing trains.
  calls = 0;
  summary = train::run_sweep(spec, {0, 1}, runner(&calls));
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(summary.skipped, 4);

  // A kill mid-run: the config folder never got its status, the run folder is marked running and
  // holds partial files. The index says running; the rerun redoes exactly that group.
  const fs::path killed = out / "unlearn_npo_lr5e-3_beta0.1_ep2";
  fs::remove_all(killed);
  const fs::path run_dir = out / ".sweep_runs" / "unlearn_npo_lr5e-3_beta0.1";
  fs::create_directories(run_dir / "epoch-1");
  core::write_file_atomic(run_dir / "metrics.jsonl", "{\"step\": 1, \"loss\": 0.5}\n");
  core::write_file_atomic(run_dir / "epoch-1" / "adapter_model.safetensors", "partial");
  core::write_json(run_dir / "sweep_running.json", {{"group", "unlearn_npo_lr5e-3_beta0.1"}});
  const json mid = train::write_sweep_index(spec);
  for (const auto& c : mid["configs"])
    if (c["name"] == killed.filename().string()) EXPECT_EQ(c["status"], "running");
  summary = train::run_sweep(spec, {0, 1}, runner(&calls));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(summary.done, 1);
  EXPECT_EQ(summary.skipped, 3);
  EXPECT_TRUE(fs::exists(killed / "adapter_model.safetensors"));
  for (const auto& c : core::read_json(out / "sweep_index.json")["configs"])
    EXPECT_EQ(c["status"], "done");
}

TEST_F(Sweep, EpochExportOfOneRunEqualsASeparateShorterRun) {
  const fs::path out = dir_ / "models";
  auto spec =
      train::parse_sweep(with_out(R"({"model": "m", "adapter": "a", "forget": "f", "batch_size": 4,
        "methods": {"grad_ascent": {"learning_rate": 2e-3, "epochs": [1, 2]}}})",
                                  out),
                         "t");
  std::atomic<int> calls{0};
  train::run_sweep(spec, {0, 1}, runner(&calls));
  ASSERT_EQ(calls.load(), 1);
  // The same config alone, 1 epoch.
  auto m = test::finetuned_tiny();
  train::TrainData data{test::token_examples(3, 8), {}, {}, 0};
  auto options = spec.groups[0].config.train;
  options.epochs = 1;
  options.save_epochs = {};
  train::unlearn_model(m, data, options, "qwen2-tiny", dir_ / "alone", false);
  auto alone = io::load_adapter(dir_ / "alone");
  auto shared = io::load_adapter(out / "unlearn_grad_ascent_lr2e-3_ep1");
  for (const auto& [name, w] : alone.modules) {
    EXPECT_CLOSE(name + ".lora_A", shared.modules.at(name).lora_A, w.lora_A, 1e-6, 1e-5);
    EXPECT_CLOSE(name + ".lora_B", shared.modules.at(name).lora_B, w.lora_B, 1e-6, 1e-5);
  }
}

TEST_F(Sweep, AFailingConfigIsRecordedAndRetried) {
  const fs::path out = dir_ / "models";
  auto spec =
      train::parse_sweep(with_out(R"({"model": "m", "adapter": "a", "forget": "f", "batch_size": 4,
        "methods": {"grad_ascent": {"learning_rate": [1e-3, 2e-3], "epochs": 1}}})",
                                  out),
                         "t");
  std::atomic<int> calls{0};
  auto good = runner(&calls);
  auto flaky = [&](const train::UnlearnConfig& c, const fs::path& dir, bool resume) {
    if (c.train.schedule.lr == 2e-3) LETHE_FAIL("diverged (test)");
    return good(c, dir, resume);
  };
  auto summary = train::run_sweep(spec, {0, 1}, flaky);
  EXPECT_EQ(summary.done, 1);
  EXPECT_EQ(summary.failed, 1);
  const json index = core::read_json(out / "sweep_index.json");
  EXPECT_EQ(index["counts"]["failed"], 1);
  for (const auto& c : index["configs"])
    if (c["status"] == "failed")
      EXPECT_NE(c["error"].get<std::string>().find("diverged"), std::string::npos);
  summary = train::run_sweep(spec, {0, 1}, good);
  EXPECT_EQ(summary.done, 1);
  EXPECT_EQ(summary.skipped, 1);
}

TEST_F(Sweep, ShardedRunsTogetherCoverTheGrid) {
  const fs::path out = dir_ / "models";
  auto spec =
      train::parse_sweep(with_out(R"({"model": "m", "adapter": "a", "forget": "f", "batch_size": 8,
        "methods": {"grad_ascent": {"learning_rate": [1e-3, 2e-3, 3e-3], "epochs": 1}}})",
                                  out),
                         "t");
  std::atomic<int> calls{0};
  auto s0 = train::run_sweep(spec, {0, 2}, runner(&calls));
  EXPECT_EQ(s0.done, 2);
  EXPECT_EQ(s0.other_shards, 1);
  auto s1 = train::run_sweep(spec, {1, 2}, runner(&calls));
  EXPECT_EQ(s1.done, 1);
  EXPECT_EQ(s1.other_shards, 2);
  EXPECT_EQ(core::read_json(out / "sweep_index.json")["counts"]["done"], 3);
}

}  // namespace
}  // namespace lethe
