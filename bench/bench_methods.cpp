// Step time of every unlearning method relative to grad_ascent on the micro shape (random weights,
// LoRA r 8 on all projections), through the real training loop (train::train). The median step
// time comes from metrics.jsonl (tokens / tokens_per_s), so NPO's one-time reference pass is
// reported separately (total wall time). Usage: bench_methods [--steps N] [--threads K]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/json_io.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "data/batching.h"
#include "model/causal_lm.h"
#include "model/lora.h"
#include "objectives/objective.h"
#include "train/trainer.h"

namespace {

namespace fs = std::filesystem;
using namespace lethe;

std::vector<data::Example> examples(uint64_t seed, int n, int64_t vocab) {
  data::SplitMix64 rng(seed);
  std::vector<data::Example> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int64_t> prompt(48), answer(32);
    for (auto& t : prompt) t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(vocab)));
    for (auto& t : answer) t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(vocab)));
    out.push_back(data::make_example(prompt, answer));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 20, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoll(argv[i + 1]);
  }
  threads = core::setup_threads(threads);
  core::Progress::set_quiet(true);
  model::ModelConfig c;
  c.model_type = "qwen2";
  c.tie_word_embeddings = true;
  c.rope_theta = 1e6;
  c.max_position_embeddings = 4096;
  c.vocab_size = 2048, c.hidden_size = 256, c.intermediate_size = 688;
  c.num_hidden_layers = 4, c.num_attention_heads = 4, c.num_key_value_heads = 2;
  const int64_t batch = 8;
  train::TrainData data{examples(1, static_cast<int>(batch * steps), c.vocab_size),
                        examples(2, static_cast<int>(batch * 4), c.vocab_size),
                        examples(3, static_cast<int>(batch * steps), c.vocab_size), 0};
  const fs::path dir = fs::temp_directory_path() / "lethe_bench_methods";
  std::printf(
      "micro shape (hidden 256, 4 layers, vocab 2048), batch %lld x 80 tokens, %lld steps, %lld "
      "threads\n",
      static_cast<long long>(batch), static_cast<long long>(steps),
      static_cast<long long>(threads));
  std::printf("%-12s %12s %10s %12s\n", "method", "step_ms", "vs_ga", "total_s");
  double ga_ms = 0.0;
  for (const auto& spec : objectives::all_objectives()) {
    if (spec.name == "sft") continue;
    torch::manual_seed(0);
    model::CausalLM m(c);
    m->eval();
    model::LoraConfig lora;
    model::attach_lora(m, lora, 0, torch::kFloat32);
    train::TrainOptions o;
    o.objective = spec.name;
    if (spec.name == "rmu") o.objective_params = {{"layer", 2}, {"num_updated_layers", 2}};
    o.schedule.lr = 1e-4;
    o.batch_size = batch;
    o.max_steps = steps;
    o.epochs = 1;
    fs::remove_all(dir);
    train::TrainTarget target{model::lora_parameters(m), [](const fs::path&) {}};
    const auto result = train::train(m, target, data, o, dir, false);
    std::vector<double> ms;
    for (const auto& line : core::read_jsonl(dir / "metrics.jsonl"))
      ms.push_back(1e3 * line["tokens"].get<double>() / line["tokens_per_s"].get<double>());
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    if (spec.name == "grad_ascent") ga_ms = median;
    std::printf("%-12s %12.1f %10.2f %12.2f\n", spec.name.c_str(), median,
                ga_ms > 0 ? median / ga_ms : 0.0, result.seconds);
  }
  fs::remove_all(dir);
  return 0;
}
