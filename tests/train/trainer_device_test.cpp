// The training loop on each device of test_devices(): SFT and NPO on the fixture model lower their
// losses, a rerun from the same seed reproduces the loss trajectory on the same device, and on CUDA
// the trajectory stays within tolerance of the CPU's.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/json_io.h"
#include "core/progress.h"
#include "data/batching.h"
#include "device_test.h"
#include "expect_close.h"
#include "model/causal_lm.h"
#include "model/lora.h"
#include "sweep_fixture.h"
#include "train/trainer.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

model::CausalLM tiny_lora(torch::Device device) {
  auto m = model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat32, device);
  model::LoraConfig config;
  config.r = 4;
  config.lora_alpha = 8;
  model::attach_lora(m, config, 11);
  return m;
}

// Trains a fresh adapter on `device` and returns the per-step losses of metrics.jsonl.
std::vector<double> train_losses(torch::Device device, const std::string& objective,
                                  const fs::path& dir) {
  auto m = tiny_lora(device);
  train::TrainData data{test::token_examples(21, 8), test::token_examples(22, 8), {}, 0};
  train::TrainOptions options;
  options.objective = objective;
  if (objective == "npo") options.objective_params = {{"beta", 0.5}};
  options.schedule.lr = 2e-2;
  options.epochs = 3;
  options.batch_size = 4;
  train::TrainTarget target{model::lora_parameters(m),
                            [&m](const fs::path& out) { model::save_adapter(m, out, "qwen2-tiny"); }};
  auto result = train::train(m, target, data, options, dir, false);
  EXPECT_TRUE(result.completed);
  std::vector<double> losses;
  for (const auto& line : core::read_jsonl(dir / "metrics.jsonl"))
    losses.push_back(line.at("loss").get<double>());
  return losses;
}

class TrainerOnDevice : public test::OnDevice {
 protected:
  void SetUp() override {
    core::Progress::set_quiet(true);
    dir_ = fs::path(test::make_temp_dir("trainer_device"));
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};
LETHE_DEVICE_SUITE(TrainerOnDevice);

TEST_P(TrainerOnDevice, SftAndNpoLowerTheirLossesAndReproduceFromTheSeed) {
  for (const std::string objective : {"sft", "npo"}) {
    auto losses = train_losses(device(), objective, dir_ / (objective + "_a"));
    ASSERT_EQ(losses.size(), 6u) << objective;  // 8 examples / batch 4 x 3 epochs
    EXPECT_LT(losses.back(), losses.front()) << objective;
    if (objective == "npo")  // before the first update the policy is the reference
      EXPECT_NEAR(losses.front(), 2.0 / 0.5 * std::log(2.0), tolerance(1e-5, 1e-4));
    // Same seed, same device: the same trajectory (bit for bit on the CPU).
    auto again = train_losses(device(), objective, dir_ / (objective + "_b"));
    EXPECT_CLOSE(objective + " rerun", again, losses, tolerance(0.0, 1e-5));
    if (device().is_cuda()) {
      auto cpu = train_losses(torch::kCPU, objective, dir_ / (objective + "_cpu"));
      EXPECT_CLOSE(objective + " cuda vs cpu", losses, cpu, 1e-3, 1e-3);
    }
  }
}

}  // namespace
}  // namespace lethe
