// `lethe unlearn --parameters full` on the fixture: every weight trains (the forget NLL rises and
// non-LoRA weights move), the HF folder it writes loads back to the same model, resume is
// bit-identical, RMU trains only its layers, and the inputs that need an adapter fail early.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "io/safetensors.h"
#include "model/pretrained.h"
#include "sweep_fixture.h"
#include "train/unlearn.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class UnlearnFull : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Progress::set_quiet(true);
    dir_ = fs::path(test::make_temp_dir("unlearn_full"));
    core::write_file_atomic(dir_ / "sf.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n");
    // The base model folder with a tokenizer (the fixture model has none), to see it copied.
    base_ = dir_ / "base";
    fs::create_directories(base_);
    for (const char* name : {"config.json", "generation_config.json", "model.safetensors"})
      fs::copy_file(fs::path(test::fixture_path("qwen2-tiny")) / name, base_ / name);
    for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
      fs::copy_file(fs::path(test::fixture_path("qwen-tokenizer")) / name, base_ / name);
  }
  void TearDown() override { fs::remove_all(dir_); }

  train::UnlearnConfig config(const std::string& method) {
    auto c = test::fixture_unlearn_config(dir_, method);
    c.parameters = "full";
    return c;
  }

  static torch::Tensor param(model::CausalLM& m, const std::string& name) {
    for (const auto& p : m->named_parameters())
      if (p.key() == name) return p.value().detach().clone();
    ADD_FAILURE() << "no parameter " << name;
    return {};
  }

  fs::path dir_, base_;
};

TEST_F(UnlearnFull, GradAscentTrainsEveryWeightAndWritesAModelFolderThatLoadsBack) {
  auto m = test::finetuned_tiny();
  auto base = model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat32, torch::kCPU);
  train::TrainData data{test::token_examples(5, 8), {}, {}, 0};
  const double before = test::mean_answer_logp(m, data.forget);
  auto options = config("grad_ascent").train;
  options.schedule.lr = 1e-3;
  options.epochs = 2;
  options.batch_size = 4;
  options.save_epochs = {1};
  auto result = train::unlearn_model_full(m, data, options, base_, dir_ / "run", false);
  EXPECT_TRUE(result.completed);
  EXPECT_EQ(result.steps, 4);
  EXPECT_FALSE(model::has_lora(m));
  const double after = test::mean_answer_logp(m, data.forget);
  EXPECT_LT(after, before - 1.0) << "forget log-prob before " << before << " after " << after;
  // Weights no LoRA adapter touches moved: the (tied) embedding and the final norm.
  for (const char* name : {"model.embed_tokens.weight", "model.norm.weight"})
    EXPECT_GT((param(m, name) - param(base, name)).abs().max().item<double>(), 1e-4) << name;

  // A complete HF folder (and one per requested epoch), no adapter.
  const fs::path run = dir_ / "run";
  for (const char* name : {"config.json", "model.safetensors", "generation_config.json",
                           "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_TRUE(fs::is_regular_file(run / name)) << name;
    EXPECT_TRUE(fs::is_regular_file(run / "epoch-1" / name)) << "epoch-1/" << name;
  }
  EXPECT_FALSE(fs::exists(run / "adapter_config.json"));
  EXPECT_EQ(core::read_file(run / "tokenizer.json"), core::read_file(base_ / "tokenizer.json"));
  EXPECT_EQ(core::read_json(run / "config.json")["torch_dtype"], "float32");
  for (const auto& [key, tensor] : io::load_safetensors(run / "model.safetensors"))
    EXPECT_EQ(key.find("lora_"), std::string::npos) << key;

  auto loaded = model::load_pretrained(run.string(), torch::kFloat32, torch::kCPU);
  EXPECT_TRUE(loaded.tokenizer.has_value());
  EXPECT_FALSE(model::has_lora(loaded.model));
  EXPECT_NEAR(test::mean_answer_logp(loaded.model, data.forget), after, 1e-5);
  auto epoch1 = model::load_pretrained((run / "epoch-1").string(), torch::kFloat32, torch::kCPU);
  const double at_epoch1 = test::mean_answer_logp(epoch1.model, data.forget);
  EXPECT_LT(at_epoch1, before);
  EXPECT_GT(at_epoch1, after);
}

TEST_F(UnlearnFull, ResumeAfterACrashIsBitIdentical) {
  train::TrainData data{test::token_examples(6, 8), {}, {}, 0};
  auto options = config("npo").train;  // the cached reference must survive the resume too
  options.schedule.lr = 1e-3;
  options.epochs = 2;
  options.batch_size = 2;
  options.save_every_steps = 1;
  auto whole = test::finetuned_tiny();
  train::unlearn_model_full(whole, data, options, base_, dir_ / "whole", false);

  auto crash_options = options;
  crash_options.stop_after_steps = 3;
  auto crashed = test::finetuned_tiny();
  auto partial =
      train::unlearn_model_full(crashed, data, crash_options, base_, dir_ / "crashed", false);
  EXPECT_FALSE(partial.completed);
  EXPECT_FALSE(fs::exists(dir_ / "crashed" / "model.safetensors"));
  auto resumed = test::finetuned_tiny();  // a fresh process: base + adapter, merged again
  auto result = train::unlearn_model_full(resumed, data, options, base_, dir_ / "crashed", true);
  EXPECT_TRUE(result.completed && result.resumed);
  EXPECT_EQ(result.steps, 8);
  auto a = io::load_safetensors(dir_ / "whole" / "model.safetensors");
  auto b = io::load_safetensors(dir_ / "crashed" / "model.safetensors");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(key))) << key;
}

TEST_F(UnlearnFull, RmuTrainsOnlyItsLayersFromTheMergedStart) {
  auto m = test::finetuned_tiny();
  train::TrainData data{test::token_examples(7, 4), test::token_examples(8, 4), {}, 0};
  auto options = config("rmu").train;
  options.objective_params = {
      {"layer", 0}, {"num_updated_layers", 1}, {"steering_coeff", 5}, {"alpha", 1}};
  options.schedule.lr = 1e-3;
  options.epochs = 2;
  options.batch_size = 2;
  auto merged = test::finetuned_tiny();
  model::merge_and_unload_lora(merged);
  train::unlearn_model_full(m, data, options, base_, dir_ / "rmu", false);
  int changed0 = 0;
  for (const auto& p : merged->named_parameters()) {
    const bool same = torch::equal(param(m, p.key()), p.value());
    if (p.key().find("layers.0.") != std::string::npos)
      changed0 += same ? 0 : 1;
    else
      EXPECT_TRUE(same) << p.key();
  }
  EXPECT_GT(changed0, 0);
  // The retain term starts at 0: the frozen copy is the merged model itself.
  auto lines = core::read_jsonl(dir_ / "rmu" / "metrics.jsonl");
  ASSERT_FALSE(lines.empty());
  EXPECT_NEAR(lines[0]["loss_retain"].get<double>(), 0.0, 1e-10);
}

TEST_F(UnlearnFull, InputsThatNeedAnAdapterOrBf16FailBeforeTraining) {
  auto expect_usage = [](const train::UnlearnConfig& c, const std::string& needle) {
    try {
      train::check_unlearn_config(c);
      ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  EXPECT_NO_THROW(train::check_unlearn_config(config("npo")));
  auto c = config("grad_ascent");
  c.parameters = "half";
  expect_usage(c, "(valid: lora, full)");
  c = config("grad_ascent");
  c.dtype = "bfloat16";
  expect_usage(c, "float32");
  c = config("npo");
  c.train.reference = train::ReferenceModel::adapter_disabled;
  expect_usage(c, "adapter_disabled");
  expect_usage(config("task_vector"), "task_vector");
  c = config("task_vector");
  c.parameters = "lora";
  EXPECT_NO_THROW(train::check_unlearn_config(c));

  // The library call refuses them too, leaving the adapter in place.
  auto m = test::finetuned_tiny();
  train::TrainData data{test::token_examples(5, 2), {}, {}, 0};
  EXPECT_THROW(
      train::unlearn_model_full(m, data, config("task_vector").train, base_, dir_ / "tv", false),
      Error);
  auto npo = config("npo").train;
  npo.reference = train::ReferenceModel::adapter_disabled;
  EXPECT_THROW(train::unlearn_model_full(m, data, npo, base_, dir_ / "ad", false), Error);
  EXPECT_TRUE(model::has_lora(m));

  // The config key round-trips; the CLI names the valid values in one line (exit code 2).
  auto j = train::unlearn_config_to_json(config("grad_ascent"));
  EXPECT_EQ(j["parameters"], "full");
  auto back = train::default_unlearn_config();
  EXPECT_EQ(back.parameters, "lora");
  train::unlearn_config_from_json(j, back, "t");
  EXPECT_EQ(back.parameters, "full");
  std::string output;
  const std::string common = " --model " + test::fixture_path("qwen2-tiny") + " --adapter " +
                             test::fixture_path("qwen2-tiny-lora") + " --forget " +
                             (dir_ / "sf.jsonl").string() + " --out " + (dir_ / "o").string();
  EXPECT_EQ(test::run_lethe("unlearn --parameters everything" + common, &output), 2) << output;
  EXPECT_NE(output.find("lora, full"), std::string::npos) << output;
  EXPECT_EQ(test::run_lethe("unlearn --parameters full --dtype bfloat16" + common, &output), 2)
      << output;
  EXPECT_NE(output.find("float32"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir_ / "o" / "metrics.jsonl"));
  EXPECT_EQ(test::run_lethe("unlearn --help", &output), 0) << output;
  EXPECT_NE(output.find("--parameters"), std::string::npos) << output;
}

}  // namespace
}  // namespace lethe
