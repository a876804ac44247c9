// model::expected_weight_shapes names exactly the base weights CausalLM registers (with their
// shapes), for Qwen2 and Llama configs, tied and untied; check_weight_names sorts a checkpoint's
// keys into missing / unexpected / wrong shape.
#include "model/weight_names.h"

#include <gtest/gtest.h>

#include "model/causal_lm.h"
#include "model/model_config.h"

namespace lethe {
namespace {

using nlohmann::json;

std::map<std::string, std::vector<int64_t>> registered(const model::ModelConfig& config) {
  model::CausalLM model(config, /*init_weights=*/false);
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& p : model->named_parameters(/*recurse=*/true))
    if (p.key().find(".lora_") == std::string::npos) out[p.key()] = p.value().sizes().vec();
  return out;
}

model::ModelConfig config_of(json j) { return model::ModelConfig::from_json(j, "test config"); }

json qwen2_json() {
  return {{"model_type", "qwen2"},
          {"architectures", {"Qwen2ForCausalLM"}},
          {"vocab_size", 40},
          {"hidden_size", 16},
          {"intermediate_size", 24},
          {"num_hidden_layers", 2},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 2},
          {"tie_word_embeddings", true},
          {"max_position_embeddings", 64}};
}

TEST(WeightNames, MatchTheRegisteredParametersOfEveryArchitecture) {
  json untied = qwen2_json();
  untied["tie_word_embeddings"] = false;
  json llama = qwen2_json();
  llama["model_type"] = "llama";
  llama["architectures"] = {"LlamaForCausalLM"};
  llama["tie_word_embeddings"] = false;
  llama["head_dim"] = 8;  // not hidden / heads
  json llama_bias = llama;
  llama_bias["attention_bias"] = true;
  llama_bias["mlp_bias"] = true;
  for (const json& j : {qwen2_json(), untied, llama, llama_bias}) {
    const auto config = config_of(j);
    const auto expected = model::expected_weight_shapes(config);
    EXPECT_EQ(expected, registered(config)) << j.dump();
    int64_t count = 0;
    for (const auto& [name, shape] : expected) {
      int64_t n = 1;
      for (auto s : shape) n *= s;
      count += n;
    }
    EXPECT_EQ(count, config.num_parameters()) << j.dump();
  }
}

TEST(WeightNames, CheckNamesMissingUnexpectedAndWrongShape) {
  const auto config = config_of(qwen2_json());
  auto stored = model::expected_weight_shapes(config);
  EXPECT_TRUE(model::check_weight_names(config, stored).ok());
  stored["lm_head.weight"] = {40, 16};                           // a tied copy: ignored
  stored["model.layers.0.self_attn.rotary_emb.inv_freq"] = {2};  // old HF buffer: ignored
  EXPECT_TRUE(model::check_weight_names(config, stored).ok());
  stored.erase("model.layers.1.mlp.up_proj.weight");
  stored["model.layers.2.mlp.up_proj.weight"] = {24, 16};
  stored["model.norm.weight"] = {8};
  const auto check = model::check_weight_names(config, stored);
  EXPECT_FALSE(check.ok());
  EXPECT_EQ(check.missing, std::vector<std::string>{"model.layers.1.mlp.up_proj.weight"});
  EXPECT_EQ(check.unexpected, std::vector<std::string>{"model.layers.2.mlp.up_proj.weight"});
  EXPECT_EQ(check.wrong_shape,
            std::vector<std::string>{
                "model.norm.weight: [8] in the checkpoint, the config expects [16]"});
}

}  // namespace
}  // namespace lethe
