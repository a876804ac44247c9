// `lethe tokenize` through the built CLI: on a folder holding only tokenizer files, encode/decode,
// --chat, --jsonl, and one-line errors.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "expect_close.h"

namespace lethe {

namespace {
std::string qwen_dir() { return test::fixture_path("qwen-tokenizer"); }
}  // namespace

TEST(TokenizeCommand, EncodesAndDecodesText) {
  std::string out;
  ASSERT_EQ(test::run_lethe("tokenize " + qwen_dir() + " --text 'Hello, world!'", &out), 0) << out;
  auto result = nlohmann::json::parse(out);
  EXPECT_EQ(result["ids"], nlohmann::json({9707, 11, 1879, 0}));
  EXPECT_EQ(result["pieces"], nlohmann::json({"Hello", ",", "Ġworld", "!"}));
  EXPECT_EQ(result["num_tokens"], 4);

  ASSERT_EQ(
      test::run_lethe("tokenize " + qwen_dir() + " --decode --text '[9707, 11, 1879, 0]'", &out), 0)
      << out;
  EXPECT_EQ(nlohmann::json::parse(out)["text"], "Hello, world!");
}

TEST(TokenizeCommand, ChatWrapsTheTextInTheTemplate) {
  std::string out;
  ASSERT_EQ(test::run_lethe(
                "tokenize " + qwen_dir() +
                    " --chat --system 'You are a helpful assistant.' --text 'Hello! What is 2+2?'",
                &out),
            0)
      << out;
  auto ref = core::read_json(qwen_dir() + "/chat_template_case.json")["case"];
  auto result = nlohmann::json::parse(out);
  EXPECT_EQ(result["rendered"], ref["rendered"]);
  EXPECT_EQ(result["ids"], ref["ids"]);
}

TEST(TokenizeCommand, JsonlRecordsAreEncodedOrDecoded) {
  auto dir = test::make_temp_dir("tokenize_cmd");
  core::write_file_atomic(
      dir + "/in.jsonl",
      "{\"id\": \"a\", \"text\": \"Hello, world!\"}\n"
      "{\"ids\": [9707, 11, 1879, 0]}\n"
      "{\"messages\": [{\"role\": \"system\", \"content\": \"You are a helpful "
      "assistant.\"}, {\"role\": \"user\", \"content\": \"Hello! What is 2+2?\"}]}\n");
  std::string out;
  ASSERT_EQ(test::run_lethe("tokenize " + qwen_dir() + " --jsonl " + dir + "/in.jsonl --out " +
                                dir + "/out.jsonl",
                            &out),
            0)
      << out;
  auto records = core::read_jsonl(dir + "/out.jsonl");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["id"], "a");
  EXPECT_EQ(records[0]["ids"], nlohmann::json({9707, 11, 1879, 0}));
  EXPECT_EQ(records[1]["text"], "Hello, world!");
  auto ref = core::read_json(qwen_dir() + "/chat_template_case.json")["case"];
  EXPECT_EQ(records[2]["ids"], ref["ids"]);
  std::filesystem::remove_all(dir);
}

TEST(TokenizeCommand, BadInputGivesOneLineErrors) {
  auto dir = test::make_temp_dir("tokenize_cmd_bad");
  std::string out;
  EXPECT_EQ(test::run_lethe("tokenize " + dir + " --text hi", &out), 1);
  EXPECT_NE(out.find("tokenizer.json"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;

  EXPECT_EQ(test::run_lethe("tokenize " + qwen_dir() + " --decode --text '1, x'", &out), 2);
  EXPECT_NE(out.find("'x' is not a token id"), std::string::npos) << out;
  EXPECT_EQ(test::run_lethe("tokenize " + qwen_dir(), &out), 2);
  std::filesystem::remove_all(dir);
}

TEST(TokenizeCommand, BadRecordsAndIdsNameTheProblem) {
  auto dir = test::make_temp_dir("tokenize_cmd_bad_records");
  std::string out;
  core::write_file_atomic(dir + "/bad.jsonl", "{\"text\": \"ok\"}\n{\"nothing\": 1}\n");
  EXPECT_EQ(test::run_lethe("tokenize " + qwen_dir() + " --jsonl " + dir + "/bad.jsonl", &out), 1);
  EXPECT_NE(out.find("bad.jsonl:2"), std::string::npos) << out;
  EXPECT_NE(out.find("'text'"), std::string::npos) << out;

  EXPECT_EQ(test::run_lethe("tokenize " + qwen_dir() + " --decode --text '999999'", &out), 1);
  EXPECT_NE(out.find("999999"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

TEST(TokenizeCommand, HelpShowsDefaults) {
  std::string out;
  ASSERT_EQ(test::run_lethe("tokenize --help", &out), 0);
  for (const char* option : {"--text", "--jsonl", "--decode", "--chat", "--system", "--no-special"})
    EXPECT_NE(out.find(option), std::string::npos) << option;
}

}  // namespace lethe
