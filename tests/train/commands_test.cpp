// `lethe pretrain` and `lethe finetune` end to end on a tiny corpus: the HF model folder, the PEFT
// adapter, the resolved config, --retain-only, bf16, and one-line errors that overwrite nothing.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "expect_close.h"
#include "io/safetensors.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

// A tiny model trained once for the whole suite (seconds): 1 layer, hidden 32, vocab 300.
class TrainCommands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::make_temp_dir("train_commands"));
    std::string corpus;
    const char* names[] = {"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"};
    const char* cities[] = {"London", "Wilmslow", "New York", "Rotterdam"};
    for (int i = 0; i < 4; ++i) {
      corpus += core::json({{"id", "p" + std::to_string(i)},
                            {"kind", "prose"},
                            {"text", std::string(names[i]) + " lived in " + cities[i] + "."}})
                    .dump() +
                "\n";
      corpus += core::json({{"id", "q" + std::to_string(i)},
                            {"kind", "qa"},
                            {"question", std::string("Where did ") + names[i] + " live?"},
                            {"answer", cities[i]},
                            {"text", "Question: Where?\nAnswer: " + std::string(cities[i])}})
                    .dump() +
                "\n";
    }
    core::write_file_atomic(*dir_ / "corpus.jsonl", corpus);
    std::string qa;
    for (int i = 0; i < 4; ++i)
      qa += core::json({{"question", std::string("Where did ") + names[i] + " work?"},
                        {"answer", cities[3 - i]},
                        {"subset", i < 2 ? "forget" : "other"}})
                .dump() +
            "\n";
    core::write_file_atomic(*dir_ / "qa.jsonl", qa);
    std::string output;
    status_ =
        test::run_lethe("--quiet pretrain --corpus " + (*dir_ / "corpus.jsonl").string() +
                            " --out " + (*dir_ / "base").string() +
                            " --vocab-size 300 --hidden-size 32 --layers 1 --heads 2 --kv-heads 1"
                            " --intermediate-size 64 --max-length 64 --epochs 2 --batch-size 4",
                        &output);
    output_ = new std::string(output);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete output_;
  }
  static fs::path* dir_;
  static std::string* output_;
  static int status_;
};
fs::path* TrainCommands::dir_ = nullptr;
std::string* TrainCommands::output_ = nullptr;
int TrainCommands::status_ = -1;

TEST_F(TrainCommands, PretrainWritesACompleteHfFolder) {
  ASSERT_EQ(status_, 0) << *output_;
  for (const char* file :
       {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
        "tokenizer_config.json", "config.yaml", "metrics.jsonl"})
    EXPECT_TRUE(fs::exists(*dir_ / "base" / file)) << file;
  auto config = core::read_json(*dir_ / "base" / "config.json");
  EXPECT_EQ(config.at("model_type"), "qwen2");
  EXPECT_EQ(config.at("hidden_size"), 32);
  auto tokenizer_config = core::read_json(*dir_ / "base" / "tokenizer_config.json");
  EXPECT_NE(tokenizer_config.at("chat_template").get<std::string>().find("<|im_start|>"),
            std::string::npos);
  auto weights = io::load_safetensors(*dir_ / "base" / "model.safetensors");
  EXPECT_TRUE(weights.count("model.embed_tokens.weight"));
  EXPECT_EQ(weights.at("model.embed_tokens.weight").size(0),
            config.at("vocab_size").get<int64_t>());
  auto lines = core::read_jsonl(*dir_ / "base" / "metrics.jsonl");
  EXPECT_LT(lines.back().at("loss").get<double>(), lines.front().at("loss").get<double>());
}

TEST_F(TrainCommands, PretrainRejectsAnUnknownDeviceBeforeWritingAnything) {
  std::string output;
  const fs::path out = *dir_ / "pretrain_bad_device";
  EXPECT_EQ(test::run_lethe("--quiet pretrain --corpus " + (*dir_ / "corpus.jsonl").string() +
                                " --out " + out.string() + " --device tpu",
                            &output),
            2);
  EXPECT_NE(output.find("--device: unknown device 'tpu'"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(out));
}

// --save-dtype bfloat16 writes the same training run's weights rounded to bf16 (the shipped base's
// format): same seed and threads as the float32 run above, so the weights must match it exactly.
TEST_F(TrainCommands, PretrainSaveDtypeWritesTheTrainedWeightsInBf16) {
  ASSERT_EQ(status_, 0) << *output_;
  std::string output;
  const fs::path out = *dir_ / "base_bf16";
  ASSERT_EQ(test::run_lethe("--quiet pretrain --corpus " + (*dir_ / "corpus.jsonl").string() +
                                " --out " + out.string() +
                                " --vocab-size 300 --hidden-size 32 --layers 1 --heads 2"
                                " --kv-heads 1 --intermediate-size 64 --max-length 64 --epochs 2"
                                " --batch-size 4 --save-dtype bfloat16",
                            &output),
            0)
      << output;
  EXPECT_EQ(core::read_json(out / "config.json").at("torch_dtype"), "bfloat16");
  EXPECT_EQ(core::read_json(*dir_ / "base" / "config.json").at("torch_dtype"), "float32");
  const auto bf16 = io::load_safetensors(out / "model.safetensors");
  const auto fp32 = io::load_safetensors(*dir_ / "base" / "model.safetensors");
  ASSERT_EQ(bf16.size(), fp32.size());
  for (const auto& [name, tensor] : fp32) {
    ASSERT_TRUE(bf16.count(name)) << name;
    EXPECT_EQ(bf16.at(name).scalar_type(), torch::kBFloat16) << name;
    EXPECT_TRUE(torch::equal(bf16.at(name), tensor.to(torch::kBFloat16))) << name;
  }
  EXPECT_NE(
      test::run_lethe("--quiet pretrain --corpus " + (*dir_ / "corpus.jsonl").string() + " --out " +
                          (*dir_ / "bad_save_dtype").string() + " --save-dtype int8",
                      &output),
      0);
  EXPECT_NE(output.find("'save_dtype' must be float32, bfloat16 or float16"), std::string::npos)
      << output;
  EXPECT_FALSE(fs::exists(*dir_ / "bad_save_dtype"));
}

TEST_F(TrainCommands, FinetuneWritesAPeftAdapterAndResolvedConfig) {
  ASSERT_EQ(status_, 0) << *output_;
  core::write_file_atomic(*dir_ / "ft.yaml",
                          "lora:\n  r: 2\n  lora_alpha: 4\nepochs: 1\nlearning_rate: 0.01\n");
  std::string output;
  const std::string out = (*dir_ / "ft").string();
  ASSERT_EQ(
      test::run_lethe("--quiet finetune --config " + (*dir_ / "ft.yaml").string() + " --model " +
                          (*dir_ / "base").string() + " --data " + (*dir_ / "qa.jsonl").string() +
                          " --out " + out + " --epochs 2 --batch-size 2 --dtype bfloat16",
                      &output),
      0)
      << output;
  auto adapter = core::read_json(fs::path(out) / "adapter_config.json");
  EXPECT_EQ(adapter.at("peft_type"), "LORA");
  EXPECT_EQ(adapter.at("r"), 2);
  auto tensors = io::load_safetensors(fs::path(out) / "adapter_model.safetensors");
  ASSERT_TRUE(tensors.count("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  EXPECT_EQ(tensors.begin()->second.scalar_type(), torch::kFloat32);  // bf16 mode keeps LoRA fp32
  const std::string yaml = core::read_file(fs::path(out) / "config.yaml");
  EXPECT_NE(yaml.find("epochs: 2"), std::string::npos) << yaml;            // command line wins
  EXPECT_NE(yaml.find("learning_rate: 0.01"), std::string::npos) << yaml;  // from the file
  EXPECT_NE(yaml.find("r: 2"), std::string::npos) << yaml;
  EXPECT_EQ(core::read_jsonl(fs::path(out) / "metrics.jsonl").size(),
            4u);  // 4 records / 2 x 2 epochs
}

TEST_F(TrainCommands, RetainOnlyDropsTheForgetSet) {
  ASSERT_EQ(status_, 0) << *output_;
  std::string output;
  const std::string out = (*dir_ / "gold").string();
  ASSERT_EQ(test::run_lethe("--quiet finetune --model " + (*dir_ / "base").string() + " --data " +
                                (*dir_ / "qa.jsonl").string() + " --out " + out +
                                " --retain-only --epochs 1 --batch-size 1",
                            &output),
            0)
      << output;
  EXPECT_EQ(core::read_jsonl(fs::path(out) / "metrics.jsonl").size(),
            2u);  // the 2 non-forget records
}

TEST_F(TrainCommands, BadInputGivesOneLineErrorsAndOverwritesNothing) {
  ASSERT_EQ(status_, 0) << *output_;
  const std::string base = " --model " + (*dir_ / "base").string();
  core::write_file_atomic(*dir_ / "bad.jsonl",
                          "{\"question\": \"q\", \"answer\": \"a\"}\n{\"question\": \"q2\"}\n");
  std::string output;
  EXPECT_EQ(test::run_lethe("--quiet finetune" + base + " --data " +
                                (*dir_ / "bad.jsonl").string() + " --out " + (*dir_ / "x").string(),
                            &output),
            1);
  EXPECT_NE(output.find("bad.jsonl:2: field 'answer' missing"), std::string::npos) << output;
  core::write_file_atomic(*dir_ / "broken.jsonl", "{\"question\": \"q\", \"answer\": \n");
  EXPECT_EQ(
      test::run_lethe("--quiet finetune" + base + " --data " + (*dir_ / "broken.jsonl").string() +
                          " --out " + (*dir_ / "x").string(),
                      &output),
      1);
  EXPECT_NE(output.find("broken.jsonl:1"), std::string::npos) << output;
  core::write_file_atomic(*dir_ / "blank.jsonl",
                          "{\"question\": \"q\", \"answer\": \"a\"}\n{\"question\": \"  \", "
                          "\"answer\": \"a\"}\n");
  EXPECT_EQ(
      test::run_lethe("--quiet finetune" + base + " --data " + (*dir_ / "blank.jsonl").string() +
                          " --out " + (*dir_ / "x").string(),
                      &output),
      1);
  EXPECT_EQ(output, "lethe: error: " + (*dir_ / "blank.jsonl").string() +
                        ":2: field 'question' is empty\n");
  EXPECT_EQ(test::run_lethe("--quiet finetune" + base + " --data " + (*dir_ / "qa.jsonl").string() +
                                " --out " + (*dir_ / "x").string() + " --lr -0.1",
                            &output),
            1);
  EXPECT_NE(output.find("learning_rate must be positive"), std::string::npos) << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
  EXPECT_EQ(test::run_lethe("--quiet finetune" + base + " --data " + (*dir_ / "qa.jsonl").string() +
                                " --out " + (*dir_ / "x").string() + " --lora-targets q_proj,qkv",
                            &output),
            1);
  EXPECT_NE(output.find("'qkv' does not exist"), std::string::npos) << output;
  // An existing run is never overwritten.
  const auto before = core::read_file(*dir_ / "base" / "model.safetensors");
  EXPECT_EQ(test::run_lethe("--quiet pretrain --corpus " + (*dir_ / "corpus.jsonl").string() +
                                " --out " + (*dir_ / "base").string(),
                            &output),
            1);
  EXPECT_NE(output.find("already holds"), std::string::npos) << output;
  EXPECT_EQ(core::read_file(*dir_ / "base" / "model.safetensors"), before);
}

TEST_F(TrainCommands, UnlearnAndFinetuneRejectBadInputBeforeTraining) {
  ASSERT_EQ(status_, 0) << *output_;
  const std::string base = " --model " + (*dir_ / "base").string();
  const fs::path out = *dir_ / "rejected";
  std::string output;
  // An adapter made for another model (qwen2-tiny: hidden 64, 2 layers; this base: hidden 32, 1
  // layer): one line naming the adapter folder, before any training.
  EXPECT_EQ(test::run_lethe("--quiet unlearn" + base + " --adapter " +
                                test::fixture_path("qwen2-tiny-lora") + " --forget " +
                                (*dir_ / "qa.jsonl").string() + " --out " + out.string(),
                            &output),
            1);
  EXPECT_NE(output.find("qwen2-tiny-lora: model.layers.0."), std::string::npos) << output;
  EXPECT_NE(output.find("but the model needs"), std::string::npos) << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
  EXPECT_FALSE(fs::exists(out / "metrics.jsonl"));
  // An empty forget set, an empty retain set of a method that trains on it.
  core::write_file_atomic(*dir_ / "empty.jsonl", "\n");
  EXPECT_EQ(test::run_lethe("--quiet unlearn" + base + " --adapter " +
                                test::fixture_path("qwen2-tiny-lora") + " --forget " +
                                (*dir_ / "empty.jsonl").string() + " --out " + out.string(),
                            &output),
            1);
  EXPECT_NE(output.find("the forget set " + (*dir_ / "empty.jsonl").string() + " is empty"),
            std::string::npos)
      << output;
  EXPECT_EQ(test::run_lethe("--quiet unlearn" + base + " --adapter " +
                                test::fixture_path("qwen2-tiny-lora") + " --method npo_gd" +
                                " --forget " + (*dir_ / "qa.jsonl").string() + " --retain " +
                                (*dir_ / "empty.jsonl").string() + " --out " + out.string(),
                            &output),
            1);
  EXPECT_NE(output.find("the retain set " + (*dir_ / "empty.jsonl").string() +
                        " is empty (no records), but method 'npo_gd' trains on it"),
            std::string::npos)
      << output;
  // finetune: an unknown objective lists the valid ones before the model loads.
  EXPECT_EQ(test::run_lethe("--quiet finetune" + base + " --data " + (*dir_ / "qa.jsonl").string() +
                                " --out " + out.string() + " --objective sgd",
                            &output),
            2);
  EXPECT_NE(output.find("unknown method 'sgd'; valid methods: sft, grad_ascent"), std::string::npos)
      << output;
  EXPECT_FALSE(fs::exists(out));
}

// --eval-every / --stop-when end to end: the evaluator's rows (ROUGE-L and answer probability of
// the forget and retain files) before the first step and after each, the stop at the first step
// the criterion holds, unlearn_result.json and the summary line.
TEST_F(TrainCommands, UnlearnEvaluatesDuringTrainingAndStopsWhenTheCriterionHolds) {
  ASSERT_EQ(status_, 0) << *output_;
  std::string output;
  const fs::path adapter = *dir_ / "ft_for_eval";
  ASSERT_EQ(test::run_lethe("--quiet finetune --model " + (*dir_ / "base").string() + " --data " +
                                (*dir_ / "qa.jsonl").string() + " --out " + adapter.string() +
                                " --epochs 1 --batch-size 2",
                            &output),
            0)
      << output;
  const fs::path out = *dir_ / "unlearn_eval";
  const std::string command =
      "--quiet unlearn --model " + (*dir_ / "base").string() + " --adapter " + adapter.string() +
      " --forget " + (*dir_ / "qa.jsonl").string() + " --retain " + (*dir_ / "qa.jsonl").string() +
      " --epochs 2 --batch-size 2 --lr 1e-2 --eval-every 1 --eval-limit 3"
      " --eval-max-new-tokens 8 --out " +
      out.string();
  ASSERT_EQ(test::run_lethe(command + " --stop-when 'step >= 2 and forget_rouge_l >= 0'", &output),
            0)
      << output;
  EXPECT_NE(output.find("2 steps"), std::string::npos) << output;
  EXPECT_NE(output.find("stopped at step 2 (--stop-when met)"), std::string::npos) << output;
  std::vector<core::json> evals;
  for (const auto& row : core::read_jsonl(out / "metrics.jsonl"))
    if (row.value("kind", "") == "eval") evals.push_back(row);
  ASSERT_EQ(evals.size(), 3u);  // steps 0, 1, 2 (of 4)
  for (size_t i = 0; i < evals.size(); ++i) {
    EXPECT_EQ(evals[i].at("step"), static_cast<int64_t>(i));
    EXPECT_EQ(evals[i].at("forget_n"), 3);  // --eval-limit 3 of the 4 questions
    EXPECT_EQ(evals[i].at("retain_n"), 3);
    for (const char* key :
         {"forget_rouge_l", "forget_answer_prob", "retain_rouge_l", "retain_answer_prob"}) {
      const double v = evals[i].at(key).get<double>();
      EXPECT_GE(v, 0.0) << key;
      EXPECT_LE(v, 1.0) << key;
    }
    // The same questions on both sides here: the same numbers (up to batching's float rounding).
    EXPECT_NEAR(evals[i].at("forget_answer_prob").get<double>(),
                evals[i].at("retain_answer_prob").get<double>(), 1e-5);
    EXPECT_GT(evals[i].at("forget_answer_prob").get<double>(), 0.0);
  }
  EXPECT_TRUE(evals[2].at("stop_met").get<bool>());
  EXPECT_FALSE(evals[1].at("stop_met").get<bool>());
  // Gradient ascent lowers the forget answers' probability.
  EXPECT_LT(evals[2].at("forget_answer_prob").get<double>(),
            evals[0].at("forget_answer_prob").get<double>());
  const auto result = core::read_json(out / "unlearn_result.json");
  EXPECT_EQ(result.at("stop_step"), 2);
  EXPECT_EQ(result.at("steps"), 2);
  EXPECT_EQ(result.at("total_steps"), 4);
  EXPECT_EQ(result.at("stop_when"), "step >= 2 and forget_rouge_l >= 0");
  EXPECT_EQ(result.at("last_eval").at("step"), 2);
  EXPECT_TRUE(fs::exists(out / "adapter_model.safetensors"));
  EXPECT_NE(core::read_file(out / "config.yaml").find("stop_when"), std::string::npos);
}

TEST_F(TrainCommands, UnlearnRejectsABadStopWhenWithOneLine) {
  ASSERT_EQ(status_, 0) << *output_;
  std::string output;
  const fs::path out = *dir_ / "bad_stop_when";
  const std::string command = "--quiet unlearn --model " + (*dir_ / "base").string() +
                              " --adapter " + test::fixture_path("qwen2-tiny-lora") + " --forget " +
                              (*dir_ / "qa.jsonl").string() + " --out " + out.string() +
                              " --eval-every 2";
  EXPECT_EQ(test::run_lethe(command + " --stop-when 'forget_rouge_l <= x'", &output), 2);
  EXPECT_EQ(output,
            "lethe: error: --stop-when: at position 19: expected a number after '<=', got "
            "'x'\n");
  EXPECT_EQ(test::run_lethe(command + " --stop-when 'rouge <= 0.2'", &output), 2);
  EXPECT_NE(output.find("unknown key 'rouge' at position 1 (valid: step, forget_rouge_l"),
            std::string::npos)
      << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
  // retain keys without a retain set; a criterion without --eval-every.
  EXPECT_EQ(test::run_lethe(command + " --stop-when 'retain_rouge_l >= 0.9'", &output), 2);
  EXPECT_NE(output.find("reads 'retain_rouge_l', which needs a retain set"), std::string::npos)
      << output;
  EXPECT_EQ(test::run_lethe("--quiet unlearn --model " + (*dir_ / "base").string() + " --adapter " +
                                test::fixture_path("qwen2-tiny-lora") + " --forget " +
                                (*dir_ / "qa.jsonl").string() + " --out " + out.string() +
                                " --stop-when 'forget_rouge_l <= 0.2'",
                            &output),
            1);
  EXPECT_NE(output.find("stop_when needs eval_every > 0"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace lethe
