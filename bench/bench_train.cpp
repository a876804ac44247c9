// LoRA training-step benchmark (forward, backward, AdamW through lethe's loop pieces) for the micro
// and the Qwen2.5-0.5B shapes, fp32 and bf16, random weights, LoRA r 8 on all seven projections;
// tokens/s, peak RSS, model-FLOP utilisation against a matmul peak measured in the same run, and
// the ratio to the same step in PyTorch eager (bench_train_eager.py, run with /usr/bin/python3 in
// the same run). Wall time and CPU time (user + sys, all threads) per step after one warm-up step,
// in --rounds rounds that alternate lethe and the eager peers (the same script on lethe's BLAS
// build, and as installed on the system's default BLAS; best and median round of each shown).
// --profile DIR writes a Chrome trace of as many extra (untimed) steps per shape and dtype
// (DIR/<shape>-<dtype>.trace.json; bench/profile_summary.py sums self time by op). Usage:
// bench_train [--shape micro|0.5b|all] [--dtype float32|bfloat16|all] [--steps N]
// [--rounds R] [--threads K] [--no-eager] [--profile DIR] [--json FILE]
// --json FILE writes every row's numbers (lethe's and both peers', best and median) for plotting.
#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_shapes.h"
#include "core/json_io.h"
#include "core/runtime.h"
#include "data/batching.h"
#include "model/causal_lm.h"
#include "model/lora.h"
#include "train/adamw.h"
#include "lethe_source_dir.h"

namespace {

using Clock = std::chrono::steady_clock;
using lethe::model::CausalLM;
using lethe::model::ModelConfig;

// LoRA step FLOPs per token (issue 4): 4 x matmul parameters (forward + input gradients; frozen
// weights get no weight gradient) plus attention (QK^T and PV, forward and backward: 3 x 4 H D
// ctx/2 per layer).
double flops_per_token(const ModelConfig& c, double T) {
  const double C = c.hidden_size, D = c.head_dim, H = c.num_attention_heads;
  const double kv = c.num_key_value_heads * D;
  const double linear = C * H * D * 2 + 2 * C * kv + 3 * C * c.intermediate_size;
  const double params = c.num_hidden_layers * linear + C * c.vocab_size;
  return 4 * params + c.num_hidden_layers * 3 * 4 * H * D * (T / 2);
}

// Waits for the device's queued kernels (CUDA runs asynchronously); a no-op on the CPU.
void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? 0 : device.index());
}

double matmul_peak(torch::ScalarType dtype, const torch::Device& device) {
  const int64_t n = device.is_cuda() ? 8192 : 1024;
  const int reps = device.is_cuda() ? 10 : 3;
  auto a = torch::randn({n, n}).to(device, dtype), b = torch::randn({n, n}).to(device, dtype);
  torch::matmul(a, b);
  sync(device);
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    auto start = Clock::now();
    for (int i = 0; i < reps; ++i) torch::matmul(a, b);
    sync(device);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count() / reps);
  }
  return 2.0 * n * n * n / best;
}

// User + sys seconds of this process (all threads) so far.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// One timed round: lethe's steps, or the eager peer's.
struct StepResult {
  double tokens_per_s = 0;    // 0 on failure
  double cpu_s_per_step = 0;  // user + sys seconds per step
};

// The PyTorch-eager step, parsed from the script's "tokens_per_s=X" and "cpu_s_per_step=X" lines.
// same_blas: the peer loads the OpenBLAS build this process runs; otherwise the system's default
// (Debian: the pthread build), i.e. what `python3` with python3-torch gives a user as installed.
StepResult eager_step(const std::string& shape_name, const std::string& dtype, int64_t B, int64_t T,
                      int steps, int threads, bool same_blas) {
  // OpenBLAS sizes its own pool from the environment (torch.set_num_threads does not reach it);
  // lethe's setup_threads sizes both, so give the peer the same thread count. The peer also loads
  // the OpenBLAS build this process runs (lethe's RPATH picks the OpenMP one; python3 would get
  // the system's pthread one): the ratio compares the code, not the BLAS threading.
  const std::string blas = lethe::core::openblas_library();
  const std::string blas_dir =
      blas.empty() || !same_blas ? "" : std::filesystem::path(blas).parent_path().string();
  const std::string cmd = (blas_dir.empty() ? "" : "LD_LIBRARY_PATH=" + blas_dir + " ") +
                          "OPENBLAS_NUM_THREADS=" + std::to_string(threads) + " /usr/bin/python3 " +
                          LETHE_SOURCE_DIR + "/bench/bench_train_eager.py --shape " + shape_name +
                          " --dtype " + dtype + " --batch " + std::to_string(B) + " --seq " +
                          std::to_string(T) + " --steps " + std::to_string(steps) + " --threads " +
                          std::to_string(threads) + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return {};
  char line[512];
  StepResult result;
  while (fgets(line, sizeof line, pipe)) {
    if (std::strncmp(line, "tokens_per_s=", 13) == 0) result.tokens_per_s = std::atof(line + 13);
    if (std::strncmp(line, "cpu_s_per_step=", 15) == 0)
      result.cpu_s_per_step = std::atof(line + 15);
  }
  pclose(pipe);
  return result;
}

// The round with the most tokens/s, and the median round (by tokens/s).
StepResult best_of(std::vector<StepResult> results) {
  return *std::max_element(results.begin(), results.end(), [](const auto& a, const auto& b) {
    return a.tokens_per_s < b.tokens_per_s;
  });
}
StepResult median_of(std::vector<StepResult> results) {
  std::sort(results.begin(), results.end(),
            [](const auto& a, const auto& b) { return a.tokens_per_s < b.tokens_per_s; });
  return results[results.size() / 2];
}

// One shape and dtype: prints a line and returns the same numbers as a JSON row (--json).
lethe::core::json run(const std::string& shape_name, torch::ScalarType dtype, int steps, int rounds,
                      int threads, bool eager, const std::string& profile_dir,
                      const torch::Device& device) {
  const ModelConfig c = lethe::bench::model_shape(shape_name);
  // CPU: the batches of the earlier sessions' tables; a GPU gets a batch that fills it.
  const int64_t B = device.is_cuda() ? 16 : shape_name == "micro" ? 16 : 4, T = device.is_cuda() ? 512 : 64;
  torch::manual_seed(0);
  CausalLM model(c);
  model->to(dtype);
  model->to(device);
  lethe::model::LoraConfig lora;
  lora.r = 8;
  lora.lora_alpha = 16;
  lethe::model::attach_lora(model, lora, 0, torch::kFloat32);
  model->train();
  {
    torch::NoGradGuard no_grad;  // non-zero B so every LoRA path does real work
    for (auto& [name, p] : lethe::model::lora_parameters(model)) p.normal_(0, 0.01);
  }
  auto params = lethe::model::lora_parameters(model);
  lethe::train::AdamW optimizer(params, {});
  auto ids = torch::randint(0, c.vocab_size, {B, T}, torch::kInt64).to(device);
  auto attention = torch::ones({B, T}, torch::kInt64).to(device);
  auto loss_mask = torch::ones({B, T}, torch::kFloat32).to(device);
  auto step = [&] {
    for (auto& [name, p] : params) p.mutable_grad() = torch::Tensor();
    auto logp = lethe::model::token_logprobs(model, ids, attention, loss_mask);
    auto loss = -logp.sum() / (B * (T - 1));
    loss.backward();
    optimizer.step(1e-4);
    sync(device);
  };
  step();                      // warm-up
  if (!profile_dir.empty()) {  // profiled steps are slower: they are not the timed ones
    std::filesystem::create_directories(profile_dir);
    torch::autograd::profiler::RecordProfile guard(profile_dir + "/" + shape_name + "-" +
                                                   lethe::core::dtype_name(dtype) + ".trace.json");
    for (int i = 0; i < steps; ++i) step();
  }
  // This shared machine drifts between a fast and a slow phase (matmul peak and step time both
  // move, by up to 45% on the micro step, within one run): rounds alternate lethe's timed steps and
  // the eager peer's, so both see the same phases, and each side's best and median round is shown.
  const std::string dtype_name = lethe::core::dtype_name(dtype);
  std::vector<StepResult> ours, theirs, stock;
  // The same script as installed (python3 on the system's default BLAS), when that is another
  // build than lethe's: what a user of Debian's python3-torch gets out of the box.
  const bool stock_blas_differs =
      lethe::core::openblas_library().find("openblas-openmp") != std::string::npos;
  double peak = 0;
  for (int round = 0; round < rounds; ++round) {
    const double cpu_start = cpu_seconds();
    auto start = Clock::now();
    for (int i = 0; i < steps; ++i) step();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count() / steps;
    ours.push_back({B * T / seconds, (cpu_seconds() - cpu_start) / steps});
    peak = std::max(peak, matmul_peak(dtype, device));  // the fast phase's peak, as for the best round
    if (eager) {
      const StepResult other = eager_step(shape_name, dtype_name, B, T, steps, threads, true);
      if (other.tokens_per_s > 0) theirs.push_back(other);
      if (stock_blas_differs) {
        const StepResult as_installed =
            eager_step(shape_name, dtype_name, B, T, steps, threads, false);
        if (as_installed.tokens_per_s > 0) stock.push_back(as_installed);
      }
    }
  }
  const StepResult best = best_of(ours), typical = median_of(ours);
  const double mfu = best.tokens_per_s * flops_per_token(c, T) / peak;
  lethe::core::json row = {{"shape", shape_name},
                           {"device", device.str()},
                           {"dtype", dtype_name},
                           {"batch", B},
                           {"seq", T},
                           {"rounds", rounds},
                           {"steps_per_round", steps},
                           {"tokens_per_s", best.tokens_per_s},
                           {"tokens_per_s_median", typical.tokens_per_s},
                           {"step_s", B * T / best.tokens_per_s},
                           {"cpu_s_per_step", best.cpu_s_per_step},
                           {"peak_rss_mb", peak_rss_mb()},
                           {"flops_per_token", flops_per_token(c, T)},
                           {"matmul_peak_gflops", peak / 1e9},
                           {"mfu", mfu}};
  // Best and median of a peer's rounds and lethe's ratio to each: printed after `label` and kept
  // in the row under `key`.
  auto report_peer = [&](const char* label, const std::string& key,
                         const std::vector<StepResult>& rounds_of_peer) {
    const StepResult other = best_of(rounds_of_peer), other_typical = median_of(rounds_of_peer);
    const double ratio = best.tokens_per_s / other.tokens_per_s;
    const double ratio_median = typical.tokens_per_s / other_typical.tokens_per_s;
    std::printf("  %s %7.0f tokens/s (median %.0f, cpu %.3fs)  ratio %.2fx (median %.2fx)", label,
                other.tokens_per_s, other_typical.tokens_per_s, other.cpu_s_per_step, ratio,
                ratio_median);
    row[key] = {{"tokens_per_s", other.tokens_per_s},
                {"tokens_per_s_median", other_typical.tokens_per_s},
                {"cpu_s_per_step", other.cpu_s_per_step},
                {"ratio", ratio},
                {"ratio_median", ratio_median}};
  };
  std::printf(
      "%-5s %-8s B=%-3lld T=%lld  best of %d: step %.3fs (cpu %.3fs) %7.0f tokens/s (median %.0f)  "
      "peak RSS %5.0f MB  MFU %5.1f%% (matmul peak %.1f GFLOP/s)",
      shape_name.c_str(), dtype_name.c_str(), static_cast<long long>(B), static_cast<long long>(T),
      rounds, B * T / best.tokens_per_s, best.cpu_s_per_step, best.tokens_per_s,
      typical.tokens_per_s, peak_rss_mb(), 100 * mfu, peak / 1e9);
  if (eager) {
    if (!theirs.empty()) {
      report_peer("eager", "eager_same_blas", theirs);
    } else {
      std::printf("  eager: failed (is /usr/bin/python3 with torch installed?)");
    }
    if (!stock.empty()) report_peer("eager, system BLAS", "eager_as_installed", stock);
  }
  std::printf("\n");
  std::fflush(stdout);
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shapes = "all", dtypes = "all";
  int steps = 5, rounds = 3, threads = 0;
  bool eager = true;
  std::string device_name = "cpu";
  std::string profile_dir, json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--shape")
      shapes = next();
    else if (arg == "--dtype")
      dtypes = next();
    else if (arg == "--steps")
      steps = std::stoi(next());
    else if (arg == "--rounds")
      rounds = std::max(1, std::stoi(next()));
    else if (arg == "--threads")
      threads = std::stoi(next());
    else if (arg == "--no-eager")
      eager = false;
    else if (arg == "--profile")
      profile_dir = next();
    else if (arg == "--json")
      json_path = next();
    else if (arg == "--device")
      device_name = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_train [--shape micro|0.5b|1.5b|all] [--dtype float32|bfloat16|all] "
                   "[--steps N] [--rounds R] [--threads K] [--no-eager] [--profile DIR] "
                   "[--json FILE] [--device cpu|cuda[:N]]\n");
      return 2;
    }
  }
  threads = lethe::core::setup_threads(threads);
  lethe::core::keep_freed_memory();  // as the lethe CLI runs
  double load[1] = {0};
  getloadavg(load, 1);
  // The eager peer inherits the environment: OMP_WAIT_POLICY=PASSIVE applies to both
  // (docs/training.md).
  const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
  const std::string blas = lethe::core::openblas_library();
  std::printf(
      "bench_train: %d threads, libtorch %s, BLAS %s, load average %.2f, OMP_WAIT_POLICY=%s\n",
      threads, TORCH_VERSION, blas.empty() ? "(not OpenBLAS)" : blas.c_str(), load[0],
      wait_policy ? wait_policy : "(unset)");
  std::vector<lethe::core::json> rows;
  const torch::Device device = lethe::core::parse_device(device_name);
  // The eager peer is a CPU script: on a GPU the peer is HF transformers + peft (scripts/gpu-check.sh).
  if (device.is_cuda()) eager = false;
  for (const std::string s : {"micro", "0.5b", "1.5b"}) {
    // "all" is the CPU tables' pair; 1.5b is asked for by name.
    if (shapes == "all" ? s == "1.5b" : shapes.find(s) == std::string::npos) continue;
    for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
      if (dtypes != "all" && dtypes != lethe::core::dtype_name(dtype)) continue;
      rows.push_back(run(s, dtype, steps, rounds, threads, eager, profile_dir, device));
    }
  }
  if (!json_path.empty()) {
    lethe::core::json results = {{"benchmark", "bench_train"},
                                 {"threads", threads},
                                 {"libtorch", TORCH_VERSION},
                                 {"blas", blas},
                                 {"load_average_at_start", load[0]},
                                 {"omp_wait_policy", wait_policy ? wait_policy : ""},
                                 {"rows", rows}};
    lethe::core::write_json(json_path, results);
    std::printf("wrote %s\n", json_path.c_str());
  }
  return 0;
}
