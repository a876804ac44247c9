// Inference benchmark: prefill tokens/s, greedy decode tokens/s with and without the KV cache, for
// the Qwen2.5-0.5B shape and a micro shape, fp32 and bf16, random weights; model-FLOP utilisation
// against a square-matmul peak measured in the same run. Usage: bench_inference [--shape
// micro|0.5b|all] [--dtype float32|bfloat16|all] [--batch B]
//        [--prompt T] [--new N] [--new-nocache N] [--threads K] [--device cpu|cuda]
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_shapes.h"
#include "core/runtime.h"
#include "model/causal_lm.h"
#include "model/kv_cache.h"

namespace {

using Clock = std::chrono::steady_clock;
using lethe::model::CausalLM;
using lethe::model::ModelConfig;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void sync(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

ModelConfig shape(const std::string& name) { return lethe::bench::model_shape(name); }

// Matmul FLOPs of one token at context length `ctx`: 2 x (linear weights) + attention (QK^T and
// PV).
double flops_per_token(const ModelConfig& c, double ctx, bool lm_head) {
  const double C = c.hidden_size, D = c.head_dim, H = c.num_attention_heads;
  const double kv = c.num_key_value_heads * D;
  const double linear = C * H * D * 2 + 2 * C * kv + 3 * C * c.intermediate_size;
  double f = c.num_hidden_layers * (2 * linear + 4 * H * D * ctx);
  if (lm_head) f += 2 * C * c.vocab_size;
  return f;
}

double matmul_peak(torch::ScalarType dtype, torch::Device device) {
  const int64_t n = 1024;
  auto a = torch::randn({n, n}, torch::TensorOptions().dtype(dtype).device(device));
  auto b = torch::randn({n, n}, torch::TensorOptions().dtype(dtype).device(device));
  torch::matmul(a, b);
  sync(device);
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    auto start = Clock::now();
    for (int i = 0; i < 4; ++i) torch::matmul(a, b);
    sync(device);
    best = std::min(best, seconds_since(start) / 4);
  }
  return 2.0 * n * n * n / best;
}

struct Args {
  std::string shape = "all", dtype = "all", device = "cpu";
  int64_t batch = 1, prompt = 128, new_tokens = 32, new_nocache = 8;
  int threads = 0;
};

void run(const std::string& shape_name, torch::ScalarType dtype, const Args& args) {
  torch::NoGradGuard no_grad;
  const torch::Device device = lethe::core::parse_device(args.device);
  ModelConfig c = shape(shape_name);
  torch::manual_seed(0);
  CausalLM model(c);
  model->to(device, dtype);
  model->eval();
  const double peak = matmul_peak(dtype, device);
  const int64_t B = args.batch, T = args.prompt;
  auto ids = torch::randint(0, c.vocab_size, {B, T},
                            torch::TensorOptions().dtype(torch::kInt64).device(device));

  lethe::model::ForwardOptions fo;
  fo.compute_logits = false;
  auto last_logits = [&](const torch::Tensor& hidden) {
    return model->lm_head_forward(hidden.select(1, hidden.size(1) - 1)).argmax(-1);
  };
  // Prefill: the prompt through the model, logits of the last position (as generation does).
  last_logits(model->forward(ids, fo).hidden);  // warm-up
  sync(device);
  double prefill = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    auto start = Clock::now();
    last_logits(model->forward(ids, fo).hidden);
    sync(device);
    prefill = std::min(prefill, seconds_since(start));
  }
  const double prefill_flops =
      B * (T * flops_per_token(c, T / 2.0, false) + 2.0 * c.hidden_size * c.vocab_size);

  // Decode with the cache: one token per step after a cached prefill.
  lethe::model::KVCache cache(c.num_hidden_layers, T + args.new_tokens);
  fo.cache = &cache;
  auto next = last_logits(model->forward(ids, fo).hidden).unsqueeze(1);
  sync(device);
  auto start = Clock::now();
  for (int64_t s = 0; s < args.new_tokens; ++s)
    next = last_logits(model->forward(next, fo).hidden).unsqueeze(1);
  sync(device);
  const double decode = seconds_since(start);
  const double decode_flops =
      B * args.new_tokens * flops_per_token(c, T + args.new_tokens / 2.0, true);

  // Decode without the cache: the whole sequence recomputed every step.
  fo.cache = nullptr;
  torch::Tensor seq = ids;
  start = Clock::now();
  for (int64_t s = 0; s < args.new_nocache; ++s) {
    next = last_logits(model->forward(seq, fo).hidden).unsqueeze(1);
    seq = torch::cat({seq, next}, 1);
  }
  sync(device);
  const double nocache = seconds_since(start);
  double nocache_flops = 0;
  for (int64_t s = 0; s < args.new_nocache; ++s) {
    nocache_flops += B * ((T + s) * flops_per_token(c, (T + s) / 2.0, false) +
                          2.0 * c.hidden_size * c.vocab_size);
  }

  std::printf(
      "%-5s %-8s B=%lld T=%lld | matmul peak %7.1f GFLOP/s | prefill %9.1f tok/s (MFU %4.1f%%) | "
      "decode+cache %7.1f tok/s (MFU %4.1f%%) | decode no-cache %6.2f tok/s (MFU %4.1f%%)\n",
      shape_name.c_str(), lethe::core::dtype_name(dtype).c_str(), (long long)B, (long long)T,
      peak / 1e9, B * T / prefill, 100 * prefill_flops / prefill / peak,
      B * args.new_tokens / decode, 100 * decode_flops / decode / peak,
      B * args.new_nocache / nocache, 100 * nocache_flops / nocache / peak);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--shape")
      args.shape = value;
    else if (key == "--dtype")
      args.dtype = value;
    else if (key == "--device")
      args.device = value;
    else if (key == "--batch")
      args.batch = std::stoll(value);
    else if (key == "--prompt")
      args.prompt = std::stoll(value);
    else if (key == "--new")
      args.new_tokens = std::stoll(value);
    else if (key == "--new-nocache")
      args.new_nocache = std::stoll(value);
    else if (key == "--threads")
      args.threads = std::stoi(value);
    else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  const int threads = lethe::core::setup_threads(args.threads);
  std::printf("bench_inference: libtorch %s, %d threads, device %s\n", TORCH_VERSION, threads,
              args.device.c_str());
  std::vector<std::string> shapes = args.shape == "all" ? std::vector<std::string>{"micro", "0.5b"}
                                                        : std::vector<std::string>{args.shape};
  std::vector<torch::ScalarType> dtypes;
  if (args.dtype == "all" || args.dtype == "float32") dtypes.push_back(torch::kFloat32);
  if (args.dtype == "all" || args.dtype == "bfloat16") dtypes.push_back(torch::kBFloat16);
  for (const auto& s : shapes)
    for (auto d : dtypes) run(s, d, args);
  return 0;
}
