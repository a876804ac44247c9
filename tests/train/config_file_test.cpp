// YAML config files: typed scalars, nesting, quoting, round trip through to_yaml, errors with the
// line.
#include "train/config_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "expect_close.h"
#include "train/finetune.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

TEST(ConfigFile, ParsesTypedScalarsAndRoundTrips) {
  auto dir = fs::path(test::make_temp_dir("config_file"));
  core::write_file_atomic(dir / "a.yaml",
                          "learning_rate: 1e-4\nepochs: 5\nretain_only: true\nmodel: \"42\"\n"
                          "save_epochs: [5, 10]\nlora:\n  r: 8\n  target_modules:\n    - q_proj\n"
                          "system_prompt: null\n");
  auto j = train::read_config_file(dir / "a.yaml");
  EXPECT_DOUBLE_EQ(j["learning_rate"].get<double>(), 1e-4);
  EXPECT_TRUE(j["epochs"].is_number_integer());
  EXPECT_EQ(j["retain_only"], true);
  EXPECT_EQ(j["model"], "42");  // quoted stays a string
  EXPECT_EQ(j["save_epochs"], nlohmann::json::array({5, 10}));
  EXPECT_EQ(j["lora"]["target_modules"][0], "q_proj");
  EXPECT_TRUE(j["system_prompt"].is_null());
  core::write_file_atomic(dir / "b.yaml", train::to_yaml(j));
  EXPECT_EQ(train::read_config_file(dir / "b.yaml"), j);
  // A resolved finetune config survives the trip.
  train::FinetuneConfig config;
  config.model = "models/x";
  config.data = {"sf.jsonl", "sr.jsonl"};
  config.train.schedule.lr = 3e-4;
  config.lora.target_modules = {"q_proj", "v_proj"};
  core::write_file_atomic(dir / "c.yaml", train::to_yaml(train::finetune_config_to_json(config)));
  train::FinetuneConfig back;
  train::finetune_config_from_json(train::read_config_file(dir / "c.yaml"), back, "c.yaml");
  EXPECT_EQ(train::finetune_config_to_json(back), train::finetune_config_to_json(config));
  fs::remove_all(dir);
}

TEST(ConfigFile, ErrorsNameTheFileAndLine) {
  auto dir = fs::path(test::make_temp_dir("config_file_bad"));
  core::write_file_atomic(dir / "bad.yaml", "epochs: 5\nlora: [unclosed\n");
  try {
    train::read_config_file(dir / "bad.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("invalid YAML"), std::string::npos) << e.what();
  }
  core::write_file_atomic(dir / "list.yaml", "- a\n- b\n");
  EXPECT_THROW(train::read_config_file(dir / "list.yaml"), Error);
  train::FinetuneConfig config;
  try {
    train::finetune_config_from_json({{"lora", {{"rank", 4}}}}, config, "ft.yaml");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "ft.yaml: unknown option 'lora.rank'");
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lethe
