// LoRA on the fixture model against the real peft 0.14 (../shared/fixtures/qwen2-tiny-lora):
// logits, losses and every lora_A / lora_B gradient norm; PEFT's seeded init; save/load; switches;
// bad adapters.
#include "model/lora.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"
#include "device_test.h"
#include "expect_close.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"
#include "model/causal_lm.h"
#include "model/lora_linear.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using core::json;

model::CausalLM tiny(torch::Device device = torch::kCPU) {
  return model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kFloat32, device);
}

model::CausalLM tiny_with_adapter(torch::Device device = torch::kCPU) {
  auto m = tiny(device);
  model::load_adapter(m, test::fixture_path("qwen2-tiny-lora"));
  return m;
}

// The model's device, where its inputs go.
torch::Device device_of(model::CausalLM& m) { return m->parameters().front().device(); }

torch::Tensor ids_of(const json& sequence, torch::Device device = torch::kCPU) {
  auto ids = sequence.at("input_ids").get<std::vector<int64_t>>();
  return torch::tensor(ids, torch::kInt64).unsqueeze(0).to(device);  // [1, T]
}

// Logits at the reference's four positions, on the CPU: [4, V]
torch::Tensor last4(model::CausalLM& m, const json& sequence) {
  torch::NoGradGuard no_grad;
  auto logits = m->forward(ids_of(sequence, device_of(m))).logits[0].cpu();  // [T, V]
  auto positions = sequence.at("last4_positions").get<std::vector<int64_t>>();
  return logits.index_select(0, torch::tensor(positions, torch::kInt64));
}

torch::Tensor want_last4(const json& sequence) {
  std::vector<torch::Tensor> rows;
  for (const auto& row : sequence.at("last4_logits"))
    rows.push_back(torch::tensor(row.get<std::vector<double>>(), torch::kFloat32));
  return torch::stack(rows);
}

// HF causal-LM loss with labels = ids: mean over t of -log softmax(logits[t])[ids[t+1]].
torch::Tensor causal_lm_loss(model::CausalLM& m, const torch::Tensor& ids) {
  auto logits = m->forward(ids).logits[0].to(torch::kFloat32);  // [T, V]
  const int64_t T = ids.size(1);
  auto logp = torch::log_softmax(logits.narrow(0, 0, T - 1), -1);
  return -logp.gather(1, ids[0].narrow(0, 1, T - 1).unsqueeze(1)).mean();
}

// The PEFT parity tests run on every device of test_devices() (CPU, and CUDA when present).
class LoraOnDevice : public test::OnDevice {};
LETHE_DEVICE_SUITE(LoraOnDevice);

TEST_P(LoraOnDevice, ReproducesPeftLogits) {
  auto ref = core::read_json(test::fixture_path("qwen2-tiny-lora/reference.json"));
  auto m = tiny_with_adapter(device());
  for (const auto& sequence : ref.at("sequences")) {
    const std::string name = "sequence " + std::to_string(sequence.at("index").get<int>());
    EXPECT_CLOSE(name + " last4 logits", last4(m, sequence), want_last4(sequence),
                 tolerance(1e-4, 1e-3));
    torch::NoGradGuard no_grad;
    auto argmax = m->forward(ids_of(sequence, device())).logits[0].argmax(-1).cpu();
    EXPECT_TRUE(torch::equal(
        argmax, torch::tensor(sequence.at("argmax").get<std::vector<int64_t>>(), torch::kInt64)))
        << name;
  }
}

TEST_P(LoraOnDevice, ReproducesPeftLossesAndGradientNorms) {
  auto ref = core::read_json(test::fixture_path("qwen2-tiny-lora/reference.json"));
  auto m = tiny_with_adapter(device());
  const auto params = model::lora_parameters(m);
  ASSERT_EQ(params.size(), 2u * 7u * 2u);  // 2 layers x 7 projections x (A, B)
  for (const auto& item : ref.at("losses")) {
    const auto& sequence = ref.at("sequences").at(item.at("index").get<size_t>());
    for (auto& [name, p] : params) p.mutable_grad() = torch::Tensor();
    auto loss = causal_lm_loss(m, ids_of(sequence, device()));
    EXPECT_CLOSE("loss", std::vector<double>{loss.item<double>()},
                 std::vector<double>{item.at("loss").get<double>()}, 0.0, tolerance(1e-5, 1e-4));
    loss.backward();
    std::vector<double> got, want;
    for (const auto& [name, p] : params) {
      const auto dot = name.rfind('.');
      const std::string key = io::peft_key(name.substr(0, dot), name.substr(dot + 1));
      ASSERT_TRUE(item.at("grad_norms").contains(key)) << key;
      ASSERT_TRUE(p.grad().defined()) << name;
      got.push_back(p.grad().norm().item<double>());
      want.push_back(item.at("grad_norms").at(key).get<double>());
    }
    EXPECT_EQ(got.size(), item.at("grad_norms").size());
    EXPECT_CLOSE("grad norms of sequence " + std::to_string(item.at("index").get<int>()), got, want,
                 0.0, tolerance(1e-3, 3e-3));
  }
}

TEST(Lora, OnlyAdapterParametersAreTrainable) {
  auto m = tiny_with_adapter();
  int64_t trainable = 0;
  for (const auto& p : m->named_parameters()) {
    const bool lora = p.key().find("lora_") != std::string::npos;
    EXPECT_EQ(p.value().requires_grad(), lora) << p.key();
    trainable += p.value().requires_grad() ? p.value().numel() : 0;
  }
  int64_t expected = 0;
  for (const auto& [name, p] : model::lora_parameters(m)) expected += p.numel();
  EXPECT_EQ(trainable, expected);
  EXPECT_GT(expected, 0);
}

TEST_P(LoraOnDevice, DisabledAdapterIsTheBaseModel) {
  auto base_ref = core::read_json(test::fixture_path("qwen2-tiny/reference.json"));
  auto base = tiny(device());
  auto m = tiny_with_adapter(device());
  const auto& sequence = base_ref.at("sequences").at(1);
  auto with_adapter = last4(m, sequence);
  {
    model::LoraDisabledScope disabled(m);
    auto off = last4(m, sequence);
    EXPECT_TRUE(torch::equal(off, last4(base, sequence)));
    EXPECT_CLOSE("disabled vs base reference", off, want_last4(sequence), tolerance(1e-4, 1e-3));
  }
  EXPECT_TRUE(torch::equal(last4(m, sequence), with_adapter));  // the scope restored the adapter
  model::set_lora_enabled(m, false);
  EXPECT_TRUE(torch::equal(last4(m, sequence), last4(base, sequence)));
  model::set_lora_enabled(m, true);
  EXPECT_GT((last4(m, sequence) - last4(base, sequence)).abs().max().item<double>(), 0.1);
}

TEST(Lora, MergeMatchesUnmergedAndUnmergeRestoresWeights) {
  auto ref = core::read_json(test::fixture_path("qwen2-tiny-lora/reference.json"));
  auto m = tiny_with_adapter();
  const auto& sequence = ref.at("sequences").at(2);
  auto before = m->projections()[0].second->weight.clone();
  model::merge_lora(m);
  EXPECT_CLOSE("merged logits", last4(m, sequence), want_last4(sequence), 1e-4);
  EXPECT_THROW(model::set_lora_enabled(m, false), Error);
  model::unmerge_lora(m);
  EXPECT_CLOSE("unmerged weight", m->projections()[0].second->weight, before, 1e-6);
}

TEST(Lora, MergedScopeMatchesPeftAndRestoresTheExactBaseWeights) {
  auto ref = core::read_json(test::fixture_path("qwen2-tiny-lora/reference.json"));
  const auto& sequence = ref.at("sequences").at(2);
  auto m = tiny_with_adapter();
  std::vector<torch::Tensor> before;
  for (const auto& [prefix, linear] : m->projections()) before.push_back(linear->weight.clone());
  {
    model::LoraMergedScope merged(m);
    ASSERT_TRUE(merged.active());
    for (const auto& [prefix, linear] : m->projections()) EXPECT_TRUE(linear->merged()) << prefix;
    EXPECT_CLOSE("logits in the merged scope", last4(m, sequence), want_last4(sequence), 1e-4);
  }
  // Bit for bit, not merely close: unmerge's subtraction alone leaves a rounding behind.
  size_t i = 0;
  for (const auto& [prefix, linear] : m->projections()) {
    EXPECT_FALSE(linear->merged()) << prefix;
    EXPECT_TRUE(torch::equal(linear->weight, before[i++])) << prefix;
  }
  EXPECT_CLOSE("adapted logits after the scope", last4(m, sequence), want_last4(sequence), 1e-4);

  // A disabled adapter is not merged (the scope leaves the base model alone).
  model::set_lora_enabled(m, false);
  {
    model::LoraMergedScope merged(m);
    EXPECT_FALSE(merged.active());
  }
  // bf16 weights: merging would round the delta into them, so the scope does nothing.
  auto half =
      model::load_causal_lm(test::fixture_path("qwen2-tiny"), torch::kBFloat16, torch::kCPU);
  model::load_adapter(half, test::fixture_path("qwen2-tiny-lora"));
  const auto half_before = half->projections()[0].second->weight.clone();
  {
    model::LoraMergedScope merged(half);
    EXPECT_FALSE(merged.active());
    EXPECT_FALSE(half->projections()[0].second->merged());
  }
  EXPECT_TRUE(torch::equal(half->projections()[0].second->weight, half_before));
}

TEST(Lora, MergeAndUnloadKeepsTheAdaptedLogitsWithoutAdapterModules) {
  auto ref = core::read_json(test::fixture_path("qwen2-tiny-lora/reference.json"));
  const auto& sequence = ref.at("sequences").at(2);
  auto m = tiny_with_adapter();
  torch::Tensor with_adapter;
  {
    torch::NoGradGuard no_grad;
    with_adapter = m->forward(ids_of(sequence)).logits.clone();  // [1, T, V]
  }
  const auto base_weight = tiny()->projections()[0].second->weight.clone();
  model::merge_and_unload_lora(m);
  EXPECT_FALSE(model::has_lora(m));
  for (const auto& p : m->named_parameters())
    EXPECT_EQ(p.key().find("lora_"), std::string::npos) << p.key();
  {
    torch::NoGradGuard no_grad;
    EXPECT_CLOSE("merged-and-unloaded logits", m->forward(ids_of(sequence)).logits, with_adapter,
                 1e-5, 1e-5);
  }
  // The delta stayed in the base weight (detach_lora would have subtracted it again).
  EXPECT_GT((m->projections()[0].second->weight - base_weight).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(model::merge_and_unload_lora(m), Error);  // nothing attached any more
  // An adapter merged beforehand is merged once, not twice.
  auto merged_first = tiny_with_adapter();
  model::merge_lora(merged_first);
  model::merge_and_unload_lora(merged_first);
  EXPECT_CLOSE("merged then unloaded", merged_first->projections()[0].second->weight,
               m->projections()[0].second->weight, 1e-6);
  auto disabled = tiny_with_adapter();
  model::set_lora_enabled(disabled, false);
  EXPECT_THROW(model::merge_and_unload_lora(disabled), Error);
}

TEST(Lora, InitMatchesPeftFromTheSameSeed) {
  // The fixture's lora_A come from peft's init after torch.manual_seed(20240601 + 2)
  // (reference.json lora.init); its lora_B were redrawn afterwards, so only A can be compared.
  auto ref = core::read_json(test::fixture_path("qwen2-tiny-lora/reference.json"));
  ASSERT_NE(ref.at("lora").at("init").get<std::string>().find("seed + 2"), std::string::npos);
  auto stored =
      io::load_safetensors(test::fixture_path("qwen2-tiny-lora/adapter_model.safetensors"));
  auto m = tiny();
  torch::manual_seed(7);
  auto expected_next = torch::rand({4});
  torch::manual_seed(7);
  model::LoraConfig config;
  config.r = 4;
  config.lora_alpha = 8;
  model::attach_lora(m, config, 20240601 + 2);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected_next));  // the global generator is untouched
  for (const auto& [name, p] : model::lora_parameters(m)) {
    const auto dot = name.rfind('.');
    const std::string part = name.substr(dot + 1);
    if (part == "lora_B") {
      EXPECT_EQ(p.abs().max().item<double>(), 0.0) << name;
      continue;
    }
    const auto& want = stored.at(io::peft_key(name.substr(0, dot), part));
    EXPECT_TRUE(torch::equal(p, want)) << name << " differs from peft's init";
  }
}

TEST(Lora, SaveLoadRoundTripIsBitIdenticalAndPeftShaped) {
  auto dir = fs::path(test::make_temp_dir("lora_roundtrip"));
  auto m = tiny_with_adapter();
  model::save_adapter(m, dir, "qwen2-tiny");
  // Same tensor keys, shapes and dtypes as peft's file, and the same adapter_config keys.
  auto ours = io::load_safetensors(dir / "adapter_model.safetensors");
  auto theirs =
      io::load_safetensors(test::fixture_path("qwen2-tiny-lora/adapter_model.safetensors"));
  ASSERT_EQ(ours.size(), theirs.size());
  for (const auto& [key, tensor] : theirs) {
    ASSERT_TRUE(ours.count(key)) << key;
    EXPECT_TRUE(torch::equal(ours.at(key), tensor)) << key;
    EXPECT_EQ(ours.at(key).scalar_type(), tensor.scalar_type()) << key;
  }
  auto config_ours = core::read_json(dir / "adapter_config.json");
  auto config_theirs = core::read_json(test::fixture_path("qwen2-tiny-lora/adapter_config.json"));
  for (const auto& [key, value] : config_theirs.items())
    EXPECT_TRUE(config_ours.contains(key)) << key;
  EXPECT_EQ(config_ours.size(), config_theirs.size());
  EXPECT_EQ(config_ours.at("r"), 4);
  EXPECT_EQ(config_ours.at("base_model_name_or_path"), "qwen2-tiny");

  auto reloaded = tiny();
  auto config = model::load_adapter(reloaded, dir);
  EXPECT_EQ(config.r, 4);
  auto a = model::lora_parameters(m), b = model::lora_parameters(reloaded);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
  fs::remove_all(dir);
}

TEST(Lora, ConfigRoundTripsAndSubsetsOfTargets) {
  auto m = tiny();
  model::LoraConfig config;
  config.r = 2;
  config.lora_alpha = 4;
  config.use_rslora = true;
  config.target_modules = {"v_proj", "q_proj"};
  model::attach_lora(m, config, 1);
  auto got = model::lora_config(m);
  EXPECT_EQ(got.r, 2);
  EXPECT_TRUE(got.use_rslora);
  EXPECT_EQ(got.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(model::lora_parameters(m).size(), 2u * 2u * 2u);
  for (const auto& [prefix, linear] : m->projections())
    if (linear->has_lora()) {
      EXPECT_DOUBLE_EQ(linear->scaling(), 4.0 / std::sqrt(2.0));
    }
  EXPECT_THROW(model::attach_lora(m, config, 1), Error);  // already attached
  model::detach_lora(m);
  EXPECT_FALSE(model::has_lora(m));
}

TEST(Lora, RejectsUnknownTargetModule) {
  auto m = tiny();
  model::LoraConfig config;
  config.target_modules = {"q_proj", "qkv_proj"};
  try {
    model::attach_lora(m, config, 0);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'qkv_proj' does not exist"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(model::has_lora(m));
}

TEST(Lora, RejectsAdapterWhoseShapesDoNotMatchTheModel) {
  auto dir = fs::path(test::make_temp_dir("lora_bad_shape"));
  auto adapter = io::load_adapter(test::fixture_path("qwen2-tiny-lora"));
  // A rank-consistent adapter for a wider model: lora_A [r, 2 * in].
  auto& w = adapter.modules.at("model.layers.0.self_attn.q_proj");
  w.lora_A = torch::cat({w.lora_A, w.lora_A}, 1);
  io::save_adapter(dir, adapter);
  auto m = tiny();
  try {
    model::load_adapter(m, dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("q_proj.lora_A has shape"), std::string::npos) << message;
    EXPECT_NE(message.find(dir.string()), std::string::npos) << message;
  }
  EXPECT_FALSE(model::has_lora(m));  // nothing attached after a failed load
  fs::remove_all(dir);
}

TEST(Lora, RejectsAdapterForModulesTheModelLacks) {
  auto dir = fs::path(test::make_temp_dir("lora_bad_module"));
  auto adapter = io::load_adapter(test::fixture_path("qwen2-tiny-lora"));
  adapter.modules["model.layers.7.self_attn.q_proj"] =
      adapter.modules.at("model.layers.0.self_attn.q_proj");
  io::save_adapter(dir, adapter);
  auto m = tiny();
  EXPECT_THROW(
      {
        try {
          model::load_adapter(m, dir);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("layers.7.self_attn.q_proj' does not exist"),
                    std::string::npos)
              << e.what();
          throw;
        }
      },
      Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lethe
