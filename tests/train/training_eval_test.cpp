// Evaluation during training on the fixture model (grad_ascent from the fixture adapter, token
// examples): "kind": "eval" rows before the first step, every N steps and after the last; a stop
// criterion that is met ends the run at that step with the adapter of a run of exactly that many
// steps; one never met runs to the end; a resume of a stopped run trains no further.
#include "train/training_eval.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "sweep_fixture.h"
#include "train/sweep.h"
#include "train/trainer.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using core::json;

class TrainingEval : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Progress::set_quiet(true);
    dir_ = fs::path(test::make_temp_dir("training_eval"));
    forget_ = test::token_examples(3, 8);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // grad_ascent, 8 examples in batches of 2: 4 steps per epoch, 2 epochs = 8 steps.
  train::TrainOptions options() const {
    train::TrainOptions o;
    o.objective = "grad_ascent";
    o.schedule.lr = 5e-3;
    o.schedule.kind = train::ScheduleKind::constant;
    o.epochs = 2;
    o.batch_size = 2;
    return o;
  }

  // Trains the fixture adapter into dir_/name; the evaluation reports the forget answers'
  // exp(mean summed log-prob) as forget_answer_prob (grad ascent lowers it).
  train::TrainResult run(const std::string& name, const train::TrainOptions& o,
                         bool resume = false) {
    model_ = test::finetuned_tiny();
    train::TrainTarget target;
    target.params = model::lora_parameters(model_);
    target.save_model = [this](const fs::path& d) { model::save_adapter(model_, d, "qwen2-tiny"); };
    target.evaluate = [this]() {
      EXPECT_FALSE(model_->is_training());
      return train::EvalValues{
          {train::eval_key::kForgetAnswerProb, std::exp(test::mean_answer_logp(model_, forget_))}};
    };
    return train::train(model_, target, {forget_, {}, {}, 0}, o, dir_ / name, resume);
  }

  static std::vector<json> rows(const fs::path& dir, bool eval) {
    std::vector<json> out;
    for (const auto& line : core::read_jsonl(dir / "metrics.jsonl"))
      if (train::is_eval_row(line) == eval) out.push_back(line);
    return out;
  }

  fs::path dir_;
  std::vector<data::Example> forget_;
  model::CausalLM model_{nullptr};
};

TEST_F(TrainingEval, RowsAppearEveryNStepsAndACriterionNeverMetRunsToTheEnd) {
  auto o = options();
  o.eval_every = 3;
  o.stop_when = "forget_answer_prob < 0";
  const auto result = run("never", o);
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(result.steps, 8);
  EXPECT_FALSE(result.stop_step.has_value());
  const auto evals = rows(dir_ / "never", true);
  ASSERT_EQ(evals.size(), 4u);  // before the first step, steps 3 and 6, the last step
  const int64_t want_steps[] = {0, 3, 6, 8};
  for (size_t i = 0; i < evals.size(); ++i) {
    EXPECT_EQ(evals[i].at("step").get<int64_t>(), want_steps[i]);
    EXPECT_EQ(evals[i].at("kind"), "eval");
    EXPECT_FALSE(evals[i].at("stop_met").get<bool>());
    EXPECT_TRUE(evals[i].contains("eval_s"));
    EXPECT_FALSE(evals[i].contains("loss"));
  }
  EXPECT_EQ(rows(dir_ / "never", false).size(), 8u);  // the loss rows are as without evaluation
  // The values are the model's at that step: the last row is the exported model's, and grad
  // ascent lowered it from the first.
  const double first = evals.front().at("forget_answer_prob").get<double>();
  const double last = evals.back().at("forget_answer_prob").get<double>();
  EXPECT_LT(last, first);
  EXPECT_NEAR(last, std::exp(test::mean_answer_logp(model_, forget_)), 1e-9);
  EXPECT_NEAR(result.last_eval.at("forget_answer_prob"), last, 0.0);
  // The loss rows interleave: the eval row of step 3 follows the loss row of step 3.
  const auto all = core::read_jsonl(dir_ / "never" / "metrics.jsonl");
  ASSERT_EQ(all.size(), 12u);
  EXPECT_TRUE(train::is_eval_row(all[0]));
  EXPECT_EQ(all[3].at("step"), 3);
  EXPECT_FALSE(train::is_eval_row(all[3]));
  EXPECT_TRUE(train::is_eval_row(all[4]));
  EXPECT_EQ(all[4].at("step"), 3);
}

TEST_F(TrainingEval, ACriterionMetStopsAtThatStepAndExportsThatStepsAdapter) {
  // Every step's value, from a run that evaluates each step without a criterion.
  auto o = options();
  o.eval_every = 1;
  run("every", o);
  const auto every = rows(dir_ / "every", true);
  ASSERT_EQ(every.size(), 9u);
  // The criterion: at most the value after step 3; the first step that meets it is the stop.
  const double threshold = every[3].at("forget_answer_prob").get<double>();
  int64_t want_stop = 0;
  for (int64_t s = 1; s <= 8 && want_stop == 0; ++s)
    if (every[static_cast<size_t>(s)].at("forget_answer_prob").get<double>() <= threshold)
      want_stop = s;
  ASSERT_GE(want_stop, 1);
  ASSERT_LT(want_stop, 8) << "the criterion must stop the run before its end";

  char text[96];
  std::snprintf(text, sizeof(text), "forget_answer_prob <= %.17g and step >= 1", threshold);
  o.stop_when = text;
  const auto result = run("stopped", o);
  ASSERT_TRUE(result.stop_step.has_value());
  EXPECT_EQ(*result.stop_step, want_stop);
  EXPECT_EQ(result.steps, want_stop);
  EXPECT_TRUE(result.completed);
  const auto evals = rows(dir_ / "stopped", true);
  ASSERT_EQ(evals.size(), static_cast<size_t>(want_stop + 1));
  EXPECT_TRUE(evals.back().at("stop_met").get<bool>());
  for (size_t i = 0; i + 1 < evals.size(); ++i) EXPECT_FALSE(evals[i].at("stop_met").get<bool>());
  EXPECT_EQ(rows(dir_ / "stopped", false).back().at("step").get<int64_t>(), want_stop);
  // The exported adapter is the one of a run of exactly want_stop steps (bit for bit), and the
  // checkpoint records the stop.
  auto exactly = options();
  exactly.max_steps = want_stop;
  run("exactly", exactly);
  EXPECT_EQ(core::read_file(dir_ / "stopped" / "adapter_model.safetensors"),
            core::read_file(dir_ / "exactly" / "adapter_model.safetensors"));
  const fs::path checkpoint =
      dir_ / "stopped" / "checkpoints" / ("step-" + std::to_string(want_stop));
  EXPECT_EQ(core::read_json(checkpoint / "trainer_state.json").at("stop_step"), want_stop);
  // A resume finds the run done: no further steps, the same adapter and metrics.
  const auto metrics_before = core::read_file(dir_ / "stopped" / "metrics.jsonl");
  const auto resumed = run("stopped", o, true);
  EXPECT_EQ(resumed.steps, want_stop);
  ASSERT_TRUE(resumed.stop_step.has_value());
  EXPECT_EQ(*resumed.stop_step, want_stop);
  EXPECT_EQ(core::read_file(dir_ / "stopped" / "metrics.jsonl"), metrics_before);
  EXPECT_EQ(core::read_file(dir_ / "stopped" / "adapter_model.safetensors"),
            core::read_file(dir_ / "exactly" / "adapter_model.safetensors"));
}

TEST_F(TrainingEval, BadOptionsAreRejectedBeforeAnythingIsWritten) {
  auto o = options();
  o.stop_when = "forget_answer_prob <= 0.1";  // no eval_every
  EXPECT_THROW(run("no_every", o), Error);
  EXPECT_FALSE(fs::exists(dir_ / "no_every"));
  o.eval_every = 2;
  o.stop_when = "forget_prob <= 0.1";
  try {
    run("bad_key", o);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'forget_prob' at position 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "bad_key" / "metrics.jsonl"));
  // A criterion naming a value the evaluation does not give fails at the first check, naming it.
  o.stop_when = "retain_rouge_l >= 0.9";
  try {
    run("missing", o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--stop-when: the evaluation has no value for 'retain_rouge_l'");
  }
}

// lethe sweep with a criterion: epochs the stopped run never reached get the stopped model, and the
// status files record the stop.
TEST_F(TrainingEval, ASweepGivesEpochsPastTheStopTheStoppedModel) {
  const json sweep = {
      {"out", (dir_ / "sweep").string()},
      {"model", "qwen2-tiny"},
      {"adapter", "qwen2-tiny-lora"},
      {"forget", "sf.jsonl"},
      {"batch_size", 2},
      {"eval_every", 1},
      {"stop_when", "step >= 6"},
      {"methods", {{"grad_ascent", {{"learning_rate", 5e-3}, {"epochs", {1, 3}}}}}}};
  const auto spec = train::parse_sweep(sweep, "sweep.yaml");
  const auto runner = [this](const train::UnlearnConfig& c, const fs::path& run_dir, bool resume) {
    model_ = test::finetuned_tiny();
    return train::unlearn_model(
        model_, {forget_, {}, {}, 0}, c.train, "qwen2-tiny", run_dir, resume, nullptr, [this]() {
          return train::EvalValues{{train::eval_key::kForgetAnswerProb,
                                    std::exp(test::mean_answer_logp(model_, forget_))}};
        });
  };
  const auto summary = train::run_sweep(spec, {}, runner);
  EXPECT_EQ(summary.done, 2);
  EXPECT_EQ(summary.failed, 0);
  fs::path ep1, ep3;
  for (const auto& c : spec.configs()) (c.epochs == 1 ? ep1 : ep3) = dir_ / "sweep" / c.name;
  const auto status1 = core::read_json(ep1 / "sweep_status.json");
  const auto status3 = core::read_json(ep3 / "sweep_status.json");
  EXPECT_EQ(status1.at("stop_step"), 6);
  EXPECT_FALSE(status1.at("stopped_before_epoch").get<bool>());  // epoch 1 ended at step 4
  EXPECT_EQ(status3.at("stop_step"), 6);
  EXPECT_TRUE(status3.at("stopped_before_epoch").get<bool>());
  // Epoch 3 (step 12) was never reached: its adapter is the one of exactly 6 steps.
  auto exactly = options();
  exactly.max_steps = 6;
  run("exactly6", exactly);
  EXPECT_EQ(core::read_file(ep3 / "adapter_model.safetensors"),
            core::read_file(dir_ / "exactly6" / "adapter_model.safetensors"));
  EXPECT_NE(core::read_file(ep1 / "adapter_model.safetensors"),
            core::read_file(ep3 / "adapter_model.safetensors"));
}

}  // namespace
}  // namespace lethe
