// A small end-to-end world for the robustness commands: an offline-generated dataset, a BPE
// tokenizer trained on it, a random Qwen2-shaped model with that tokenizer, and PEFT adapters.
#pragma once
#include <filesystem>

#include "core/json_io.h"
#include "data/dataset.h"
#include "datagen/generate.h"
#include "expect_close.h"
#include "io/checkpoint.h"
#include "model/lora.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"

namespace lethe::test {

struct TinyWorld {
  std::filesystem::path root, data, model, adapter_ft, adapter_a, adapter_b;
};

// Built once per test binary run under make_temp_dir(tag).
inline TinyWorld make_tiny_world(const std::string& tag) {
  namespace fs = std::filesystem;
  TinyWorld w;
  w.root = make_temp_dir(tag);
  w.data = w.root / "data";
  w.model = w.root / "model";
  datagen::GenerateOptions g;
  g.out_dir = w.data.string();
  g.targets = 4;
  g.background = 2;
  g.holdout = 2;
  g.sf_per_target = 2;
  g.correlated_per_target = 2;
  g.other_per_target = 1;
  g.world_person_qa = 1;
  g.world_country_qa = 2;
  g.paraphrased_questions = 1;
  g.check = false;
  datagen::generate_dataset(g);
  const auto ds = data::load_dataset(w.data);
  text::BpeTrainerOptions bo;
  bo.vocab_size = 400;
  text::BpeTrainer trainer(bo);
  for (const auto& q : ds.sf) trainer.add_text(q.question + " " + q.answer);
  for (const auto& q : ds.sr) trainer.add_text(q.question + " " + q.answer);
  for (const auto& d : ds.corpus) trainer.add_text(d.text);
  const auto bpe = trainer.train();
  fs::create_directories(w.model);
  bpe.save(w.model, text::ChatTemplate::chatml(std::nullopt), 512);
  const auto tok = text::Tokenizer::load(w.model);
  model::ModelConfig mc;
  mc.vocab_size = tok.vocab_size();
  mc.hidden_size = 32;
  mc.intermediate_size = 64;
  mc.num_hidden_layers = 2;
  mc.num_attention_heads = 4;
  mc.num_key_value_heads = 2;
  mc.head_dim = 8;
  mc.max_position_embeddings = 512;
  mc.tie_word_embeddings = true;
  mc.eos_token_id = {tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")};
  torch::manual_seed(11);
  model::CausalLM m(mc);
  io::StateDict weights;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : m->named_parameters()) {
      if (p.value().dim() >= 2) p.value().normal_(0.0, 0.5);
      if (p.key() != "lm_head.weight") weights[p.key()] = p.value().detach();
    }
  }
  io::save_state_dict(w.model, weights);
  core::write_json(w.model / "config.json", mc.to_json());
  const auto write_adapter = [&](const fs::path& dir, uint64_t seed, double scale) {
    auto base = model::load_causal_lm(w.model.string(), torch::kFloat32, torch::kCPU);
    model::LoraConfig cfg;
    cfg.r = 4;
    model::attach_lora(base, cfg, seed);
    torch::manual_seed(seed);
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : model::lora_parameters(base)) t.normal_(0.0, scale);
    model::save_adapter(base, dir, w.model.string());
  };
  w.adapter_ft = w.root / "adapter_ft";
  w.adapter_a = w.root / "adapter_a";
  w.adapter_b = w.root / "adapter_b";
  write_adapter(w.adapter_ft, 3, 0.3);
  write_adapter(w.adapter_a, 4, 0.3);
  write_adapter(w.adapter_b, 5, 0.05);
  return w;
}

}  // namespace lethe::test
