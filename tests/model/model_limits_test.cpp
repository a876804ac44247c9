// A model too large for this machine's memory is a one-line error before anything is allocated,
// whether config.json announces it or a safetensors header announces a tensor the file cannot hold.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "crash_test_util.h"
#include "expect_close.h"
#include "model/causal_lm.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ModelLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(test::make_temp_dir("model_limits"));
    fs::copy(test::fixture_path("qwen2-tiny"), dir_ / "model", fs::copy_options::recursive);
    fs::permissions(dir_ / "model", fs::perms::owner_all, fs::perm_options::add);
    for (const auto& e : fs::directory_iterator(dir_ / "model"))
      fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ModelLimits, ConfigLargerThanMemoryFailsBeforeAllocating) {
  // About 1.38e13 parameters (50 TB in float32): more than any test machine has.
  json config = core::read_json(dir_ / "model" / "config.json");
  config["hidden_size"] = 65536;
  config["intermediate_size"] = 262144;
  config["num_hidden_layers"] = 200;
  config["num_attention_heads"] = 512;
  config["num_key_value_heads"] = 512;
  config["vocab_size"] = 1000000;
  core::write_json(dir_ / "model" / "config.json", config);
  const std::string config_path = (dir_ / "model" / "config.json").string();
  try {
    model::load_causal_lm((dir_ / "model").string(), torch::kFloat32, torch::kCPU);
    FAIL() << "a 50 TB model was loaded";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(config_path + ": a model of 1.38e+13 parameters in Float needs ", 0), 0u)
        << what;
    EXPECT_NE(what.find("TB of memory but only"), std::string::npos) << what;
  }
  // The command line says it in one line, exit code 1.
  const auto r = test::run_lethe_child({"generate", (dir_ / "model").string(), "--prompt", "hi"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.rfind("lethe: error: ", 0), 0u) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find("of memory but only"), std::string::npos) << r.output;
}

TEST_F(ModelLimits, SafetensorsHeaderAnnouncingAHugeTensorIsRejected) {
  // A header that announces a 4 TB embedding in a 100-byte file (a truncated or hostile file).
  const std::string header =
      R"({"model.embed_tokens.weight":{"dtype":"F32","shape":[1000000,1000000],)"
      R"("data_offsets":[0,4000000000000]}})";
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += header + std::string(64, '\0');
  core::write_file_atomic(dir_ / "model" / "model.safetensors", bytes);
  const auto r = test::run_lethe_child({"generate", (dir_ / "model").string(), "--prompt", "hi"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find("model.safetensors: tensor 'model.embed_tokens.weight': data_offsets "
                          "[0, 4000000000000] out of range: the data section has 64 bytes"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace lethe
