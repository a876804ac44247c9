// The training loop on the fixture model: the loss moves, resume is bit-identical, epoch exports,
// gradient accumulation, cached reference log-probs, layer-restricted training, and bad input.
#include "train/trainer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "data/batching.h"
#include "expect_close.h"
#include "io/safetensors.h"
#include "model/causal_lm.h"
#include "model/lora.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

model::CausalLM tiny_lora(double dropout = 0.0) {
  auto m = model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat32, torch::kCPU);
  model::LoraConfig config;
  config.r = 4;
  config.lora_alpha = 8;
  config.lora_dropout = dropout;
  model::attach_lora(m, config, 11);
  return m;
}

// Random token "QA" examples: prompt then a scored answer; equal_answers fixes every length.
std::vector<data::Example> examples(uint64_t seed, int n, bool equal_lengths = false) {
  data::SplitMix64 rng(seed);
  std::vector<data::Example> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> prompt(equal_lengths ? 6 : 4 + rng.below(6)),
        answer(equal_lengths ? 4 : 2 + rng.below(5));
    for (auto& t : prompt) t = static_cast<int64_t>(rng.below(512));
    for (auto& t : answer) t = static_cast<int64_t>(rng.below(512));
    out.push_back(data::make_example(prompt, answer));
  }
  return out;
}

train::TrainTarget lora_target(model::CausalLM& m) {
  return {model::lora_parameters(m),
          [&m](const fs::path& dir) { model::save_adapter(m, dir, "qwen2-tiny"); }};
}

std::vector<core::json> metrics(const fs::path& dir) {
  return core::read_jsonl(dir / "metrics.jsonl");
}

class Trainer : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Progress::set_quiet(true);
    dir_ = fs::path(test::make_temp_dir("trainer"));
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(Trainer, SftLowersTheLossAndWritesTheRun) {
  auto m = tiny_lora();
  train::TrainData data{examples(1, 8), {}, {}, 0};
  train::TrainOptions options;
  options.schedule.lr = 2e-2;
  options.epochs = 6;
  options.batch_size = 4;
  auto result = train::train(m, lora_target(m), data, options, dir_ / "run", false);
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(result.steps, 12);
  auto lines = metrics(dir_ / "run");
  ASSERT_EQ(lines.size(), 12u);
  for (const char* key :
       {"step", "epoch", "loss", "loss_forget", "lr", "grad_norm", "tokens_per_s"})
    EXPECT_TRUE(lines[0].contains(key)) << key;
  const double first = (lines[0]["loss"].get<double>() + lines[1]["loss"].get<double>()) / 2;
  const double last = (lines[10]["loss"].get<double>() + lines[11]["loss"].get<double>()) / 2;
  EXPECT_LT(last, first * 0.7) << "first " << first << " last " << last;
  EXPECT_TRUE(fs::exists(dir_ / "run" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "checkpoints" / "step-12" / "optimizer.safetensors"));
}

TEST_F(Trainer, ResumeAfterACrashIsBitIdentical) {
  train::TrainData data{examples(2, 10), {}, {}, 0};
  train::TrainOptions options;
  options.schedule.lr = 1e-2;
  options.schedule.kind = train::ScheduleKind::cosine;
  options.schedule.warmup_steps = 2;
  options.epochs = 3;
  options.batch_size = 3;
  options.grad_accum = 2;
  options.save_every_steps = 1;
  auto whole = tiny_lora(0.1);  // dropout: the RNG must resume too
  train::train(whole, lora_target(whole), data, options, dir_ / "whole", false);

  auto crashed = tiny_lora(0.1);
  auto crash_options = options;
  crash_options.stop_after_steps = 3;
  auto partial =
      train::train(crashed, lora_target(crashed), data, crash_options, dir_ / "crashed", false);
  EXPECT_FALSE(partial.completed);
  EXPECT_FALSE(fs::exists(dir_ / "crashed" / "adapter_model.safetensors"));
  // A fresh process: a new model, resumed from the checkpoint.
  auto resumed = tiny_lora(0.1);
  auto result = train::train(resumed, lora_target(resumed), data, options, dir_ / "crashed", true);
  EXPECT_TRUE(result.completed && result.resumed);
  auto a = io::load_safetensors(dir_ / "whole" / "adapter_model.safetensors");
  auto b = io::load_safetensors(dir_ / "crashed" / "adapter_model.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(key))) << key;
  auto la = metrics(dir_ / "whole"), lb = metrics(dir_ / "crashed");
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i)
    EXPECT_EQ(la[i]["loss"], lb[i]["loss"]) << "step " << i + 1;
  // Resuming a finished run does nothing and keeps the result.
  auto again = tiny_lora(0.1);
  auto noop = train::train(again, lora_target(again), data, options, dir_ / "crashed", true);
  EXPECT_EQ(noop.steps, result.steps);
  EXPECT_EQ(metrics(dir_ / "crashed").size(), la.size());
}

TEST_F(Trainer, ExportsChosenEpochs) {
  auto m = tiny_lora();
  train::TrainData data{examples(3, 6), {}, {}, 0};
  train::TrainOptions options;
  options.schedule.lr = 1e-2;
  options.epochs = 3;
  options.batch_size = 3;
  options.save_epochs = {1, 3};
  train::train(m, lora_target(m), data, options, dir_ / "run", false);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "epoch-1" / "adapter_config.json"));
  EXPECT_FALSE(fs::exists(dir_ / "run" / "epoch-2"));
  auto e1 = io::load_safetensors(dir_ / "run" / "epoch-1" / "adapter_model.safetensors");
  auto e3 = io::load_safetensors(dir_ / "run" / "epoch-3" / "adapter_model.safetensors");
  auto final_adapter = io::load_safetensors(dir_ / "run" / "adapter_model.safetensors");
  const std::string key = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
  EXPECT_FALSE(torch::equal(e1.at(key), e3.at(key)));
  EXPECT_TRUE(torch::equal(e3.at(key), final_adapter.at(key)));
}

TEST_F(Trainer, GradientAccumulationEqualsTheLargerBatch) {
  // Equal lengths and no grouping: one step of 2 x 4 examples == one step of 8 examples.
  train::TrainData data{examples(4, 8, true), {}, {}, 0};
  train::TrainOptions options;
  options.schedule.lr = 1e-2;
  options.max_steps = 1;
  options.group_by_length = false;
  options.batch_size = 8;
  auto big = tiny_lora();
  train::train(big, lora_target(big), data, options, dir_ / "big", false);
  options.batch_size = 4;
  options.grad_accum = 2;
  auto small = tiny_lora();
  train::train(small, lora_target(small), data, options, dir_ / "small", false);
  auto pa = model::lora_parameters(big), pb = model::lora_parameters(small);
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_CLOSE(pa[i].first, pa[i].second, pb[i].second, 1e-6, 1e-4);
  EXPECT_NEAR(metrics(dir_ / "big")[0]["grad_norm"].get<double>(),
              metrics(dir_ / "small")[0]["grad_norm"].get<double>(), 1e-4);
}

TEST_F(Trainer, NpoUsesTheCachedReference) {
  auto m = tiny_lora();
  train::TrainData data{examples(5, 4), {}, {}, 0};
  train::TrainOptions options;
  options.objective = "npo";
  options.objective_params = {{"beta", 0.5}};
  options.schedule.lr = 1e-2;
  options.epochs = 2;
  options.batch_size = 4;
  train::train(m, lora_target(m), data, options, dir_ / "npo", false);
  auto lines = metrics(dir_ / "npo");
  // Before the first update the policy is the reference: -(2/beta) log sigmoid(0) = (2/beta) ln 2.
  EXPECT_NEAR(lines[0]["loss"].get<double>(), 2.0 / 0.5 * std::log(2.0), 1e-5);
  EXPECT_GT(lines[1]["loss"].get<double>(), 0.0);
  EXPECT_LT(lines[1]["loss"].get<double>(),
            lines[0]["loss"].get<double>());  // forgetting lowers it
  auto cache = io::load_safetensors(dir_ / "npo" / "checkpoints" / "reference.safetensors");
  int64_t tokens = 0;
  for (const auto& e : data.forget) tokens += e.length();
  EXPECT_EQ(cache.at("forget").size(0), tokens);
}

TEST_F(Trainer, RmuTrainsOnlyItsLayers) {
  auto m = tiny_lora();
  auto before = model::lora_parameters(m);
  std::vector<torch::Tensor> copies;
  for (auto& [name, p] : before) copies.push_back(p.detach().clone());
  train::TrainData data{examples(6, 4), examples(7, 4), {}, 0};
  train::TrainOptions options;
  options.objective = "rmu";
  options.objective_params = {
      {"layer", 0}, {"num_updated_layers", 1}, {"steering_coeff", 5}, {"alpha", 1}};
  options.schedule.lr = 1e-2;
  options.epochs = 2;
  options.batch_size = 2;
  train::train(m, lora_target(m), data, options, dir_ / "rmu", false);
  int changed0 = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    const bool same = torch::equal(before[i].second, copies[i]);
    if (before[i].first.find("layers.1.") != std::string::npos) {
      EXPECT_TRUE(same) << before[i].first;
    } else {
      changed0 += same ? 0 : 1;
    }
    EXPECT_TRUE(before[i].second.requires_grad()) << before[i].first;  // unfrozen afterwards
  }
  EXPECT_GT(changed0, 0);
  auto lines = metrics(dir_ / "rmu");
  EXPECT_TRUE(lines[0].contains("loss_retain"));
  // The retain term starts at 0: the frozen model is the initial one.
  EXPECT_NEAR(lines[0]["loss_retain"].get<double>(), 0.0, 1e-10);
}

TEST_F(Trainer, RefusesToOverwriteAndRejectsCorruptCheckpoints) {
  auto m = tiny_lora();
  train::TrainData data{examples(8, 4), {}, {}, 0};
  train::TrainOptions options;
  options.max_steps = 2;
  options.batch_size = 2;
  options.save_every_steps = 1;
  options.keep_checkpoints = 2;
  train::train(m, lora_target(m), data, options, dir_ / "run", false);
  const auto adapter_before = core::read_file(dir_ / "run" / "adapter_model.safetensors");
  try {
    train::train(m, lora_target(m), data, options, dir_ / "run", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a training run"), std::string::npos);
  }
  core::write_file_atomic(dir_ / "run" / "checkpoints" / "step-2" / "trainer_state.json",
                          "{\"step\": ");
  try {
    train::train(m, lora_target(m), data, options, dir_ / "run", true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot resume from"), std::string::npos) << e.what();
  }
  // Other options cannot silently continue a run either.
  core::write_file_atomic(dir_ / "run" / "checkpoints" / "latest", "step-1\n");
  auto other = options;
  other.schedule.lr = 3e-4;
  try {
    train::train(m, lora_target(m), data, other, dir_ / "run", true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other training options"), std::string::npos) << e.what();
  }
  EXPECT_EQ(core::read_file(dir_ / "run" / "adapter_model.safetensors"), adapter_before);
}

TEST_F(Trainer, RejectsBadInputBeforeWritingAnything) {
  auto m = tiny_lora();
  train::TrainData data{examples(9, 4), {}, {}, 0};
  train::TrainOptions options;
  options.schedule.lr = -1;
  EXPECT_THROW(train::train(m, lora_target(m), data, options, dir_ / "bad", false), Error);
  options.schedule.lr = 1e-3;
  options.objective = "grad_diff";
  try {
    train::train(m, lora_target(m), data, options, dir_ / "bad", false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs a retain set"), std::string::npos) << e.what();
  }
  options.objective = "sft";
  train::TrainData empty{{}, {}, {}, 0};
  EXPECT_THROW(train::train(m, lora_target(m), empty, options, dir_ / "bad", false), Error);
  EXPECT_FALSE(fs::exists(dir_ / "bad"));
}

TEST(TrainOptions, JsonRoundTripAndErrors) {
  train::TrainOptions options;
  options.schedule.lr = 3e-4;
  options.save_epochs = {5, 10};
  options.objective_params = {{"beta", 0.1}};
  train::TrainOptions back;
  train::train_options_from_json(train::train_options_to_json(options), back, "cfg.yaml");
  EXPECT_EQ(train::train_options_to_json(back), train::train_options_to_json(options));
  try {
    train::train_options_from_json({{"learnig_rate", 1e-3}}, back, "cfg.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cfg.yaml: unknown training option 'learnig_rate'");
  }
  EXPECT_THROW(train::train_options_from_json({{"learning_rate", 0}}, back, "cfg.yaml"), Error);
  EXPECT_THROW(train::train_options_from_json({{"epochs", "many"}}, back, "cfg.yaml"), Error);
}

}  // namespace
}  // namespace lethe
