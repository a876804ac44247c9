// ModelConfig: parsing the fixture, HF defaults, round trip, and errors naming the field.
#include "model/model_config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json_io.h"
#include "expect_close.h"

namespace lethe {
namespace {

using nlohmann::json;

json tiny_json() { return core::read_json(test::fixture_path("qwen2-tiny/config.json")); }

void expect_config_error(const json& j, const std::string& fragment) {
  try {
    model::ModelConfig::from_json(j, "cfg.json");
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cfg.json: "), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

TEST(ModelConfig, ParsesFixture) {
  auto c = model::ModelConfig::from_json(tiny_json(), "config.json");
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 176);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.max_position_embeddings, 256);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_FALSE(c.rope_scaling.has_value());
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.has_qkv_bias());
  EXPECT_FALSE(c.has_o_bias());
  EXPECT_FALSE(c.mlp_bias);
}

TEST(ModelConfig, RoundTripsThroughJson) {
  auto c = model::ModelConfig::from_json(tiny_json(), "config.json");
  auto again = model::ModelConfig::from_json(c.to_json(), "to_json");
  EXPECT_EQ(again.to_json(), c.to_json());
  auto j = c.to_json();
  EXPECT_EQ(j["num_key_value_heads"], 2);
  EXPECT_EQ(j["architectures"][0], "Qwen2ForCausalLM");
}

TEST(ModelConfig, LlamaBiasesAndRopeScaling) {
  json j = tiny_json();
  j["model_type"] = "llama";
  j["architectures"] = {"LlamaForCausalLM"};
  j["attention_bias"] = true;
  j["mlp_bias"] = true;
  j["head_dim"] = 32;
  j["eos_token_id"] = {5, 6};
  j["rope_scaling"] = {{"rope_type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  auto c = model::ModelConfig::from_json(j, "cfg.json");
  EXPECT_TRUE(c.has_qkv_bias());
  EXPECT_TRUE(c.has_o_bias());
  EXPECT_TRUE(c.mlp_bias);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.eos_token_id, (std::vector<int64_t>{5, 6}));
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(c.rope_scaling->rope_type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling->factor, 8.0);
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_EQ(model::ModelConfig::from_json(j, "cfg.json").rope_scaling->rope_type, "linear");
}

TEST(ModelConfig, RejectsUnsupportedSettingsNamingTheField) {
  json j = tiny_json();
  j["model_type"] = "mistral";
  expect_config_error(j, "model_type 'mistral'");
  j = tiny_json();
  j["architectures"] = {"Qwen2ForSequenceClassification"};
  expect_config_error(j, "architectures entry 'Qwen2ForSequenceClassification'");
  j = tiny_json();
  j["hidden_act"] = "gelu";
  expect_config_error(j, "hidden_act 'gelu'");
  j = tiny_json();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_config_error(j, "rope_scaling type 'yarn'");
  j = tiny_json();
  j["use_sliding_window"] = true;
  j["sliding_window"] = 32;
  j["max_window_layers"] = 0;
  expect_config_error(j, "use_sliding_window");
  j = tiny_json();
  j.erase("hidden_size");
  expect_config_error(j, "missing field 'hidden_size'");
  j = tiny_json();
  j["num_key_value_heads"] = 3;
  expect_config_error(j, "num_key_value_heads");
  j = tiny_json();
  j["vocab_size"] = "512";
  expect_config_error(j, "'vocab_size' must be a positive integer");
  j = tiny_json();
  j["rope_theta"] = "big";
  expect_config_error(j, "'rope_theta' has the wrong type");
}

TEST(ModelConfig, SlidingWindowFlagWithoutEffectIsAccepted) {
  json j = tiny_json();
  j["use_sliding_window"] = true;
  j["sliding_window"] = 4096;  // >= max_position_embeddings: never limits attention
  EXPECT_NO_THROW(model::ModelConfig::from_json(j, "cfg.json"));
}

}  // namespace
}  // namespace lethe
