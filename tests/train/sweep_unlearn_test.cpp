// `lethe unlearn`: the config round trip, the checks before training (unknown method / parameter,
// missing retain set, bad adapter), unlearning moving the forget log-prob down on the fixture,
// task_vector's negated export, and the CLI's one-line errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/progress.h"
#include "io/peft_adapter.h"
#include "objectives/task_vector.h"
#include "sweep_fixture.h"
#include "train/unlearn.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Unlearn : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Progress::set_quiet(true);
    dir_ = fs::path(test::make_temp_dir("unlearn"));
    core::write_file_atomic(dir_ / "sf.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n");
    core::write_file_atomic(dir_ / "sr.jsonl", "{\"question\": \"q2\", \"answer\": \"b\"}\n");
  }
  void TearDown() override { fs::remove_all(dir_); }

  train::UnlearnConfig config(const std::string& method) {
    return test::fixture_unlearn_config(dir_, method);
  }

  fs::path dir_;
};

TEST_F(Unlearn, ConfigRoundTripsThroughJson) {
  auto c = config("npo");
  c.retain = "sr.jsonl";
  c.train.objective_params["beta"] = 0.25;
  c.train.schedule.lr = 3e-5;
  c.train.save_epochs = {5, 10};
  const json j = train::unlearn_config_to_json(c);
  EXPECT_EQ(j["method"], "npo");
  EXPECT_EQ(j["params"]["beta"], 0.25);
  train::UnlearnConfig back = train::default_unlearn_config();
  train::unlearn_config_from_json(j, back, "t");
  EXPECT_EQ(train::unlearn_config_to_json(back), j);
  EXPECT_THROW(train::unlearn_config_from_json(json{{"bogus", 1}}, back, "t"), Error);
  EXPECT_THROW(train::unlearn_config_from_json(json{{"params", {{"beta", "x"}}}}, back, "t"),
               Error);
}

TEST_F(Unlearn, BadInputIsRejectedBeforeTraining) {
  auto expect_error = [](const train::UnlearnConfig& c, const std::string& needle) {
    try {
      train::check_unlearn_config(c);
      ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(config("forget_everything"), "npo");  // the list of valid methods
  auto c = config("npo");
  c.train.objective_params["gamma"] = 1;
  expect_error(c, "beta");  // the list of valid parameters
  c = config("npo");
  c.train.objective_params["beta"] = -1;
  expect_error(c, "beta");
  expect_error(config("grad_diff"), "needs a retain set");
  c = config("grad_diff");
  c.train.objective_params["retain_weight"] = 0;  // no retain term: no retain set needed
  EXPECT_NO_THROW(train::check_unlearn_config(c));
  c = config("grad_ascent");
  c.adapter = (dir_ / "nowhere").string();
  expect_error(c, "not a PEFT adapter folder");
  c = config("grad_ascent");
  c.forget = (dir_ / "missing.jsonl").string();
  expect_error(c, "missing.jsonl");
  // Empty sets (no records; blank lines only) fail before the model loads.
  core::write_file_atomic(dir_ / "empty.jsonl", "");
  core::write_file_atomic(dir_ / "blank.jsonl", "\n  \n");
  c = config("grad_ascent");
  c.forget = (dir_ / "empty.jsonl").string();
  expect_error(c, "the forget set " + c.forget + " is empty");
  c = config("grad_diff");
  c.retain = (dir_ / "blank.jsonl").string();
  expect_error(c, "the retain set " + c.retain + " is empty");
  c = config("grad_ascent");  // reads no retain set: an empty one is not an error
  c.retain = (dir_ / "blank.jsonl").string();
  EXPECT_NO_THROW(train::check_unlearn_config(c));
  EXPECT_NO_THROW(train::check_unlearn_config(config("grad_ascent")));
}

TEST_F(Unlearn, NpoLowersTheForgetLogProbAndWritesAdapters) {
  auto m = test::finetuned_tiny();
  train::TrainData data{test::token_examples(5, 8), {}, {}, 0};
  const double before = test::mean_answer_logp(m, data.forget);
  auto options = config("npo").train;
  options.schedule.lr = 5e-3;
  options.epochs = 3;
  options.batch_size = 4;
  options.save_epochs = {1};
  auto result = train::unlearn_model(m, data, options, "qwen2-tiny", dir_ / "run", false);
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(result.steps, 6);
  const double after = test::mean_answer_logp(m, data.forget);
  EXPECT_LT(after, before - 1.0) << "before " << before << " after " << after;
  auto saved = io::load_adapter(dir_ / "run");
  EXPECT_EQ(saved.config.r, 4);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "epoch-1" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "checkpoints" / "reference.safetensors"));
}

TEST_F(Unlearn, GradDiffWithoutRetainExamplesFails) {
  auto m = test::finetuned_tiny();
  train::TrainData data{test::token_examples(5, 4), {}, {}, 0};
  auto options = config("grad_diff").train;
  EXPECT_THROW(train::unlearn_model(m, data, options, "qwen2-tiny", dir_ / "run", false), Error);
  train::TrainData empty{{}, {}, {}, 0};
  EXPECT_THROW(
      train::unlearn_model(m, empty, config("grad_ascent").train, "qwen2-tiny", dir_ / "r2", false),
      Error);
}

TEST_F(Unlearn, TaskVectorExportsTheNegatedCombination) {
  auto m = test::finetuned_tiny();
  train::TrainData data{test::token_examples(5, 8), {}, {}, 0};
  auto options = config("task_vector").train;
  options.objective_params["alpha"] = 0.5;
  options.schedule.lr = 5e-3;
  options.epochs = 2;
  options.batch_size = 4;
  train::unlearn_model(m, data, options, "qwen2-tiny", dir_ / "tv", false);
  const auto finetuned = io::load_adapter(test::fixture_path("qwen2-tiny-lora"));
  const auto forget = io::load_adapter(dir_ / "tv" / "forget_adapter");
  const auto combined = io::load_adapter(dir_ / "tv");
  EXPECT_EQ(combined.config.r, 2 * finetuned.config.r);
  const std::string key = "model.layers.1.mlp.down_proj";
  auto want =
      objectives::adapter_delta(finetuned, key) - 0.5 * objectives::adapter_delta(forget, key);
  EXPECT_CLOSE("delta " + key, objectives::adapter_delta(combined, key), want, 1e-6, 1e-5);
  // The forget adapter learnt something (B moved away from its zero init).
  EXPECT_GT(forget.modules.at(key).lora_B.abs().max().item<double>(), 0.0);
}

TEST_F(Unlearn, CliRejectsUnknownMethodAndParameterInOneLine) {
  std::string output;
  const std::string common = " --model " + test::fixture_path("qwen2-tiny") + " --adapter " +
                             test::fixture_path("qwen2-tiny-lora") + " --forget " +
                             (dir_ / "sf.jsonl").string() + " --out " + (dir_ / "o").string();
  EXPECT_EQ(test::run_lethe("unlearn --method nope" + common, &output), 2) << output;
  EXPECT_NE(output.find("grad_ascent"), std::string::npos) << output;
  EXPECT_EQ(test::run_lethe("unlearn --method npo --param gamma=1" + common, &output), 2) << output;
  EXPECT_NE(output.find("beta"), std::string::npos) << output;
  EXPECT_EQ(test::run_lethe("unlearn --method npo --param beta" + common, &output), 2) << output;
  EXPECT_EQ(test::run_lethe("unlearn --method grad_diff" + common, &output), 2) << output;
  EXPECT_NE(output.find("--retain"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir_ / "o" / "metrics.jsonl"));
}

}  // namespace
}  // namespace lethe
