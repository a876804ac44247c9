// PEFT LoRA adapters: the peft 0.14 fixture (config keys, 28 tensors and shapes), byte-identical
// save, key mapping, and a clear error for each unsupported or malformed setting.
#include "io/peft_adapter.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/json_io.h"
#include "core/sha256.h"
#include "expect_close.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace lethe {
namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(PeftAdapter, LoadsFixtureAdapter) {
  const fs::path folder = test::fixture_path("qwen2-tiny-lora");
  io::Adapter adapter = io::load_adapter(folder);
  const auto& c = adapter.config;
  EXPECT_EQ(c.peft_type, "LORA");
  EXPECT_EQ(c.task_type, "CAUSAL_LM");
  EXPECT_EQ(c.base_model_name_or_path, "qwen2-tiny");
  EXPECT_EQ(c.r, 4);
  EXPECT_DOUBLE_EQ(c.lora_alpha, 8.0);
  EXPECT_DOUBLE_EQ(c.scaling(), 2.0);
  EXPECT_DOUBLE_EQ(c.lora_dropout, 0.0);
  EXPECT_FALSE(c.use_rslora);
  EXPECT_EQ(c.target_modules.size(), 7u);

  // qwen2-tiny: hidden 64, intermediate 176, 4 heads of 16, 2 kv heads -> k/v out 32.
  const std::map<std::string, std::pair<int64_t, int64_t>> in_out = {
      {"self_attn.q_proj", {64, 64}}, {"self_attn.k_proj", {64, 32}},
      {"self_attn.v_proj", {64, 32}}, {"self_attn.o_proj", {64, 64}},
      {"mlp.gate_proj", {64, 176}},   {"mlp.up_proj", {64, 176}},
      {"mlp.down_proj", {176, 64}}};
  ASSERT_EQ(adapter.modules.size(), 14u);  // 28 tensors
  auto raw = io::load_safetensors(folder / "adapter_model.safetensors");
  EXPECT_EQ(raw.size(), 28u);
  for (int layer = 0; layer < 2; ++layer) {
    for (const auto& [module, dims] : in_out) {
      const std::string prefix = "model.layers." + std::to_string(layer) + "." + module;
      ASSERT_EQ(adapter.modules.count(prefix), 1u) << prefix;
      const auto& w = adapter.modules.at(prefix);
      EXPECT_EQ(w.lora_A.sizes(), (std::vector<int64_t>{4, dims.first})) << prefix;
      EXPECT_EQ(w.lora_B.sizes(), (std::vector<int64_t>{dims.second, 4})) << prefix;
      EXPECT_TRUE(torch::equal(w.lora_A, raw.at(io::peft_key(prefix, "lora_A")))) << prefix;
      EXPECT_TRUE(torch::equal(w.lora_B, raw.at(io::peft_key(prefix, "lora_B")))) << prefix;
      EXPECT_GT(w.lora_B.abs().sum().item<double>(), 0.0) << prefix;  // drawn non-zero
    }
  }
}

TEST(PeftAdapter, ConfigJsonHasPeft014KeySet) {
  const fs::path path = test::fixture_path("qwen2-tiny-lora/adapter_config.json");
  const json fixture = core::read_json(path);
  // Parsing the fixture and writing it back reproduces it exactly, key for key and value for value.
  EXPECT_EQ(io::adapter_config_to_json(io::read_adapter_config(path)), fixture);
  // A default config carries the same keys.
  io::AdapterConfig fresh;
  fresh.target_modules = {"q_proj"};
  json written = io::adapter_config_to_json(fresh);
  std::vector<std::string> keys_fixture, keys_written;
  for (const auto& [k, v] : fixture.items()) keys_fixture.push_back(k);
  for (const auto& [k, v] : written.items()) keys_written.push_back(k);
  EXPECT_EQ(keys_written, keys_fixture);
  io::AdapterConfig rs = fresh;
  rs.r = 16;
  rs.lora_alpha = 8;
  rs.use_rslora = true;
  EXPECT_DOUBLE_EQ(rs.scaling(), 2.0);  // 8 / sqrt(16)
  rs.lora_alpha = 2.5;
  EXPECT_EQ(io::adapter_config_to_json(rs)["lora_alpha"], json(2.5));
}

TEST(PeftAdapter, SaveReloadRoundTripIsByteIdentical) {
  const fs::path fixture = test::fixture_path("qwen2-tiny-lora");
  io::Adapter adapter = io::load_adapter(fixture);
  auto dir = fs::path(test::make_temp_dir("peft_roundtrip"));
  io::save_adapter(dir / "out", adapter);
  EXPECT_EQ(core::sha256_file(dir / "out" / "adapter_model.safetensors"),
            core::sha256_file(fixture / "adapter_model.safetensors"));
  EXPECT_EQ(core::read_json(dir / "out" / "adapter_config.json"),
            core::read_json(fixture / "adapter_config.json"));
  io::Adapter again = io::load_adapter(dir / "out");
  ASSERT_EQ(again.modules.size(), adapter.modules.size());
  for (const auto& [prefix, w] : adapter.modules) {
    EXPECT_TRUE(torch::equal(again.modules.at(prefix).lora_A, w.lora_A)) << prefix;
    EXPECT_TRUE(torch::equal(again.modules.at(prefix).lora_B, w.lora_B)) << prefix;
  }
  // bf16 adapters keep their dtype.
  for (auto& [prefix, w] : adapter.modules) {
    w.lora_A = w.lora_A.to(torch::kBFloat16);
    w.lora_B = w.lora_B.to(torch::kBFloat16);
  }
  io::save_adapter(dir / "bf16", adapter);
  auto bf16 = io::load_adapter(dir / "bf16");
  const auto& q = bf16.modules.at("model.layers.1.self_attn.q_proj");
  EXPECT_EQ(q.lora_A.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(q.lora_A, adapter.modules.at("model.layers.1.self_attn.q_proj").lora_A));
  fs::remove_all(dir);
}

TEST(PeftAdapter, KeyMapping) {
  EXPECT_EQ(io::peft_key("model.layers.0.self_attn.q_proj", "lora_A"),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  auto parsed = io::parse_peft_key("base_model.model.model.layers.3.mlp.down_proj.lora_B.weight");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->first, "model.layers.3.mlp.down_proj");
  EXPECT_EQ(parsed->second, "lora_B");
  auto named =
      io::parse_peft_key("base_model.model.model.layers.0.self_attn.v_proj.lora_A.default.weight");
  ASSERT_TRUE(named);
  EXPECT_EQ(named->first, "model.layers.0.self_attn.v_proj");
  EXPECT_EQ(named->second, "lora_A");
  EXPECT_FALSE(io::parse_peft_key("model.layers.0.self_attn.q_proj.weight"));
  EXPECT_FALSE(io::parse_peft_key("base_model.model.model.layers.0.self_attn.q_proj.weight"));
  EXPECT_FALSE(io::parse_peft_key("base_model.model.lora_A.weight"));
  EXPECT_FALSE(io::parse_peft_key("base_model.model.model.embed_tokens.lora_embedding_A.weight"));
  EXPECT_FALSE(io::parse_peft_key("base_model.model.x.lora_A.a.b.weight"));
}

TEST(PeftAdapter, BadConfigsGiveClearErrors) {
  const json fixture = core::read_json(test::fixture_path("qwen2-tiny-lora/adapter_config.json"));
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& j) { j["target_modules"] = ".*\\.(q|v)_proj"; }, "target_modules is a regex"},
      {[](json& j) { j["target_modules"] = "all-linear"; }, "'all-linear' is not supported"},
      {[](json& j) { j["target_modules"] = json::array(); }, "non-empty list"},
      {[](json& j) { j.erase("target_modules"); }, "'target_modules' missing"},
      {[](json& j) { j["use_dora"] = true; }, "DoRA adapters are not supported"},
      {[](json& j) { j["bias"] = "all"; }, "bias 'all' is not supported"},
      {[](json& j) { j["fan_in_fan_out"] = true; }, "fan_in_fan_out"},
      {[](json& j) { j["layers_to_transform"] = json::array({0}); }, "layers_to_transform"},
      {[](json& j) {
         j["rank_pattern"] = {{"q_proj", 8}};
       },
       "rank_pattern"},
      {[](json& j) { j["modules_to_save"] = json::array({"lm_head"}); }, "modules_to_save"},
      {[](json& j) { j["peft_type"] = "PREFIX_TUNING"; }, "peft_type 'PREFIX_TUNING'"},
      {[](json& j) { j["task_type"] = "SEQ_CLS"; }, "task_type 'SEQ_CLS'"},
      {[](json& j) { j["r"] = 0; }, "'r' must be a positive integer"},
      {[](json& j) { j["lora_alpha"] = "eight"; }, "wrong type"},
      {[](json& j) { j["lora_dropout"] = 1.5; }, "lora_dropout must be in [0, 1)"},
  };
  auto dir = fs::path(test::make_temp_dir("peft_bad_config"));
  const fs::path path = dir / "adapter_config.json";
  for (const auto& [mutate, expected] : cases) {
    json j = fixture;
    mutate(j);
    core::write_json(path, j);
    const std::string message = test::error_of([&] { io::read_adapter_config(path); });
    EXPECT_HAS(message, path.string());
    EXPECT_HAS(message, expected);
  }
  fs::remove_all(dir);
}

TEST(PeftAdapter, BadWeightsGiveClearErrors) {
  const fs::path fixture = test::fixture_path("qwen2-tiny-lora");
  auto dir = fs::path(test::make_temp_dir("peft_bad_weights"));
  const json config = core::read_json(fixture / "adapter_config.json");
  const io::StateDict good = io::load_safetensors(fixture / "adapter_model.safetensors");
  auto attempt = [&](const json& cfg, const io::StateDict& tensors) {
    fs::remove_all(dir / "a");
    fs::create_directories(dir / "a");
    core::write_json(dir / "a" / "adapter_config.json", cfg);
    io::write_safetensors(dir / "a" / "adapter_model.safetensors", tensors);
    return test::error_of([&] { io::load_adapter(dir / "a"); });
  };
  EXPECT_EQ(attempt(config, good), "<no error>");

  json r8 = config;
  r8["r"] = 8;
  EXPECT_HAS(attempt(r8, good), "rank mismatch");

  io::StateDict no_b = good;
  no_b.erase("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight");
  EXPECT_HAS(attempt(config, no_b), "module 'model.layers.1.mlp.up_proj': lora_B missing");

  json only_q = config;
  only_q["target_modules"] = json::array({"q_proj"});
  EXPECT_HAS(attempt(only_q, good), "is not in target_modules");

  io::StateDict extra = good;
  extra["base_model.model.lm_head.weight"] = torch::zeros({4});
  EXPECT_HAS(attempt(config, extra), "unexpected tensor 'base_model.model.lm_head.weight'");

  io::StateDict wrong_shape = good;
  wrong_shape["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"] = torch::zeros({4});
  EXPECT_HAS(attempt(config, wrong_shape), "must be matrices");

  fs::remove(dir / "a" / "adapter_model.safetensors");
  core::write_json(dir / "a" / "adapter_model.bin", json::object());
  EXPECT_HAS(test::error_of([&] { io::load_adapter(dir / "a"); }),
             "adapter_model.bin is not supported");
  EXPECT_HAS(test::error_of([&] { io::load_adapter(dir / "none"); }), "no such adapter folder");
  fs::remove_all(dir);
}

}  // namespace lethe
