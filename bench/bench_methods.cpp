// Unlearning-method benchmark through the real training loop (train::train), random weights, LoRA
// r 8 on all projections: (1) the median step time of every method relative to grad_ascent on the
// micro and the 0.5B shapes (the cached reference makes NPO's step a GA step; its one-time
// reference pass is in the total); (2) sweep throughput (configurations per minute) with 1 and 2
// processes sharding one grid; (3) data-parallel NPO tokens/s with 1 and 2 processes.
// Usage: bench_methods [--shape micro|0.5b|all] [--steps N] [--steps-0.5b N] [--methods a,b,..]
//                      [--threads K] [--no-sweep] [--no-dp]
// Worker modes (started by the benchmark itself): --sweep-worker RANK/N DIR, --dp-worker DIR.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench_shapes.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "data/batching.h"
#include "model/causal_lm.h"
#include "model/lora.h"
#include "objectives/objective.h"
#include "train/distributed.h"
#include "train/sweep.h"
#include "train/trainer.h"
#include "train/unlearn.h"

namespace {

namespace fs = std::filesystem;
using namespace lethe;
using Clock = std::chrono::steady_clock;

constexpr int64_t kPrompt = 48, kAnswer = 32;  // 80 tokens per example

std::vector<data::Example> examples(uint64_t seed, int64_t n, int64_t vocab) {
  data::SplitMix64 rng(seed);
  std::vector<data::Example> out;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> prompt(kPrompt), answer(kAnswer);
    for (auto& t : prompt) t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(vocab)));
    for (auto& t : answer) t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(vocab)));
    out.push_back(data::make_example(prompt, answer));
  }
  return out;
}

// A random model of `shape` with a LoRA (r 8, alpha 16) whose B is non-zero, so every LoRA path
// does real work; the same weights for the same shape.
model::CausalLM lora_model(const std::string& shape) {
  torch::manual_seed(0);
  model::CausalLM m(bench::model_shape(shape));
  m->eval();
  model::LoraConfig lora;
  lora.r = 8;
  lora.lora_alpha = 16;
  model::attach_lora(m, lora, 0, torch::kFloat32);
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : model::lora_parameters(m)) p.normal_(0, 0.01);
  return m;
}

// forget / retain / preferred (refusal stand-ins) for `steps` steps of `batch`.
train::TrainData bench_data(int64_t batch, int64_t steps, int64_t vocab) {
  return {examples(1, batch * steps, vocab), examples(2, batch * 4, vocab),
          examples(3, batch * steps, vocab), 0};
}

train::TrainOptions method_options(const std::string& method, const std::string& shape,
                                   int64_t batch, int64_t steps) {
  train::TrainOptions o;
  o.objective = method;
  if (method == "rmu")
    o.objective_params = {{"layer", shape == "0.5b" ? 7.0 : 2.0}, {"num_updated_layers", 2.0}};
  o.schedule.lr = 1e-4;
  o.batch_size = batch;
  o.max_steps = steps;
  o.epochs = 1;
  return o;
}

// Median step time in ms from metrics.jsonl (tokens / tokens_per_s of each step).
double median_step_ms(const fs::path& dir) {
  std::vector<double> ms;
  for (const auto& line : core::read_jsonl(dir / "metrics.jsonl"))
    ms.push_back(1e3 * line["tokens"].get<double>() / line["tokens_per_s"].get<double>());
  std::sort(ms.begin(), ms.end());
  return ms.empty() ? 0.0 : ms[ms.size() / 2];
}

void bench_methods(const std::string& shape, int64_t steps, const std::vector<std::string>& only,
                   const fs::path& dir) {
  const auto config = bench::model_shape(shape);
  const int64_t batch = shape == "0.5b" ? 4 : 8;
  const train::TrainData data = bench_data(batch, steps, config.vocab_size);
  std::printf(
      "\n%s shape (hidden %lld, %lld layers, vocab %lld), batch %lld x %lld tokens, %lld "
      "steps\n",
      shape.c_str(), static_cast<long long>(config.hidden_size),
      static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.vocab_size),
      static_cast<long long>(batch), static_cast<long long>(kPrompt + kAnswer),
      static_cast<long long>(steps));
  std::printf("%-12s %10s %8s %10s\n", "method", "step_ms", "vs_ga", "total_s");
  double ga_ms = 0.0;
  model::CausalLM m = lora_model(shape);
  std::map<std::string, torch::Tensor> initial;
  for (const auto& [name, p] : model::lora_parameters(m)) initial[name] = p.detach().clone();
  for (const auto& spec : objectives::all_objectives()) {
    if (spec.name == "sft") continue;
    if (spec.name != "grad_ascent" && !only.empty() &&
        std::find(only.begin(), only.end(), spec.name) == only.end())
      continue;
    {
      torch::NoGradGuard no_grad;  // every method starts from the same adapter
      for (const auto& [name, p] : model::lora_parameters(m)) p.copy_(initial.at(name));
    }
    const fs::path run = dir / (shape + "_" + spec.name);
    fs::remove_all(run);
    train::TrainTarget target{model::lora_parameters(m), [](const fs::path&) {}};
    const auto result =
        train::train(m, target, data, method_options(spec.name, shape, batch, steps), run, false);
    const double median = median_step_ms(run);
    if (spec.name == "grad_ascent") ga_ms = median;
    std::printf("%-12s %10.1f %8.2f %10.2f\n", spec.name.c_str(), median,
                ga_ms > 0 ? median / ga_ms : 0.0, result.seconds);
    std::fflush(stdout);
  }
}

// The sweep grid of the throughput measurement: 4 methods x 2 learning rates, 1 epoch each.
train::SweepSpec sweep_spec(const fs::path& out) {
  auto json = core::json::parse(R"({"model": "micro", "adapter": "random", "forget": "f",
      "retain": "r", "batch_size": 8, "methods": {
        "grad_ascent": {"learning_rate": [1e-5, 1e-4], "epochs": 1},
        "grad_diff": {"learning_rate": [1e-5, 1e-4], "epochs": 1},
        "npo": {"learning_rate": [1e-5, 1e-4], "epochs": 1},
        "npo_gd": {"learning_rate": [1e-5, 1e-4], "epochs": 1}}})");
  json["out"] = out.string();
  return train::parse_sweep(json, "bench sweep");
}

constexpr int64_t kSweepSteps = 4;  // optimizer steps per configuration (micro shape, batch 8)

int sweep_worker(const std::string& shard_text, const fs::path& out) {
  const auto spec = sweep_spec(out);
  auto runner = [](const train::UnlearnConfig& config, const fs::path& run_dir, bool resume) {
    model::CausalLM m = lora_model("micro");
    const auto data = bench_data(8, kSweepSteps, m->config().vocab_size);
    return train::unlearn_model(m, data, config.train, "micro", run_dir, resume);
  };
  const auto summary = train::run_sweep(spec, train::parse_shard(shard_text), runner);
  return summary.failed == 0 ? 0 : 1;
}

// Runs the shell command lines together and waits for all; returns the wall seconds, or < 0 when
// one failed.
double run_together(const std::vector<std::string>& commands) {
  std::string script;
  for (size_t i = 0; i < commands.size(); ++i)
    script += commands[i] + " & p" + std::to_string(i) + "=$!; ";
  script += "rc=0; ";
  for (size_t i = 0; i < commands.size(); ++i)
    script += "wait $p" + std::to_string(i) + " || rc=1; ";
  script += "exit $rc";
  const auto start = Clock::now();
  const int rc = std::system(("bash -c '" + script + "'").c_str());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return rc == 0 ? seconds : -1.0;
}

// " (2.03x the 1-process rate)", or "" without a 1-process number.
std::string ratio_text(double ratio) {
  if (!(ratio > 0)) return "";
  char text[64];
  std::snprintf(text, sizeof text, " (%.2fx the 1-process rate)", ratio);
  return text;
}

void bench_sweep(const std::string& self, int threads, const fs::path& dir) {
  const int64_t n_configs = static_cast<int64_t>(sweep_spec(dir).configs().size());
  std::printf(
      "\nsweep throughput: %lld configurations (4 methods x 2 lr, micro shape, %lld steps "
      "of batch 8 each), process start-up included\n",
      static_cast<long long>(n_configs), static_cast<long long>(kSweepSteps));
  double one = 0.0;
  for (int processes : {1, 2}) {
    const fs::path out = dir / ("sweep" + std::to_string(processes));
    fs::remove_all(out);
    const int per_process = std::max(1, threads / processes);
    std::vector<std::string> commands;
    for (int rank = 0; rank < processes; ++rank)
      commands.push_back(self + " --threads " + std::to_string(per_process) + " --sweep-worker " +
                         std::to_string(rank) + "/" + std::to_string(processes) + " " +
                         out.string());
    const double seconds = run_together(commands);
    if (seconds < 0) {
      std::printf("%d process(es): FAILED\n", processes);
      continue;
    }
    int64_t done = 0;
    const auto index = train::write_sweep_index(sweep_spec(out));
    for (const auto& c : index["configs"]) done += c["status"] == "done";
    if (processes == 1) one = seconds;
    std::printf("%d process(es) x %d thread(s): %lld/%lld done in %.1f s = %.1f configs/min%s\n",
                processes, per_process, static_cast<long long>(done),
                static_cast<long long>(n_configs), seconds, 60.0 * done / seconds,
                ratio_text(processes > 1 && one > 0 ? one / seconds : 0.0).c_str());
  }
}

constexpr int64_t kDpSteps = 6, kDpBatch = 16;

int dp_worker(const fs::path& out) {
  core::Progress::set_quiet(true);
  const auto group = train::join_process_group_from_env();
  model::CausalLM m = lora_model("micro");
  const auto data = bench_data(kDpBatch, kDpSteps, m->config().vocab_size);
  train::TrainTarget target{model::lora_parameters(m), [](const fs::path&) {}};
  train::train(m, target, data, method_options("npo", "micro", kDpBatch, kDpSteps), out, false,
               group.get());
  return 0;
}

void bench_data_parallel(const std::string& self, int threads, const fs::path& dir) {
  std::printf(
      "\ndata-parallel npo (micro shape, batch %lld x 80 tokens, %lld steps): median step "
      "time of the whole batch\n",
      static_cast<long long>(kDpBatch), static_cast<long long>(kDpSteps));
  double one = 0.0;
  for (int processes : {1, 2}) {
    const fs::path out = dir / ("dp" + std::to_string(processes));
    fs::remove_all(out);
    const int per_process = std::max(1, threads / processes);
    const int port = 29500 + static_cast<int>(Clock::now().time_since_epoch().count() % 20000);
    std::vector<std::string> commands;
    for (int rank = 0; rank < processes; ++rank)
      commands.push_back(
          "RANK=" + std::to_string(rank) + " WORLD_SIZE=" + std::to_string(processes) +
          " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " " + self +
          " --threads " + std::to_string(per_process) + " --dp-worker " + out.string());
    if (run_together(commands) < 0) {
      std::printf("%d process(es): FAILED\n", processes);
      continue;
    }
    const double ms = median_step_ms(out);
    if (processes == 1) one = ms;
    std::printf("%d process(es) x %d thread(s): step %.1f ms, %.0f tokens/s%s\n", processes,
                per_process, ms, kDpBatch * (kPrompt + kAnswer) / (ms / 1e3),
                ratio_text(processes > 1 && one > 0 ? one / ms : 0.0).c_str());
  }
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shapes = "all", sweep_shard, sweep_dir, dp_dir;
  std::vector<std::string> only;
  int64_t steps = 20, steps_large = 3;
  int threads = 0;
  bool sweep = true, dp = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--shape") {
      shapes = next();
    } else if (arg == "--steps") {
      steps = std::stoll(next());
    } else if (arg == "--steps-0.5b") {
      steps_large = std::stoll(next());
    } else if (arg == "--methods") {
      only = split(next());
    } else if (arg == "--threads") {
      threads = std::stoi(next());
    } else if (arg == "--no-sweep") {
      sweep = false;
    } else if (arg == "--no-dp") {
      dp = false;
    } else if (arg == "--sweep-worker") {
      sweep_shard = next();
      sweep_dir = next();
    } else if (arg == "--dp-worker") {
      dp_dir = next();
    } else {
      std::fprintf(stderr,
                   "usage: bench_methods [--shape micro|0.5b|all] [--steps N] [--steps-0.5b N] "
                   "[--methods a,b] [--threads K] [--no-sweep] [--no-dp]\n");
      return 2;
    }
  }
  threads = core::setup_threads(threads);
  core::Progress::set_quiet(true);
  try {
    if (!sweep_shard.empty()) return sweep_worker(sweep_shard, sweep_dir);
    if (!dp_dir.empty()) return dp_worker(dp_dir);
    const fs::path dir =
        fs::temp_directory_path() / ("lethe_bench_methods_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::printf("bench_methods: %d threads, libtorch %s\n", threads, TORCH_VERSION);
    for (const std::string s : {"micro", "0.5b"})
      if (shapes == "all" || shapes == s)
        bench_methods(s, s == "0.5b" ? steps_large : steps, only, dir);
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    if (sweep) bench_sweep(self, threads, dir);
    if (dp) bench_data_parallel(self, threads, dir);
    fs::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_methods: %s\n", e.what());
    return 1;
  }
  return 0;
}
