// safetensors benchmark: open (header parse + validation), zero-copy load, first touch of every
// byte, conversion to bf16, and the writer, on the fixture and on a ~500 MB random F32 checkpoint;
// memory is reported as RssAnon (private copies) vs RssFile (the shared mapping) to show no second
// copy exists. Usage: bench_safetensors [MEGABYTES=500] [TMP_DIR=/tmp]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "lethe_source_dir.h"

namespace fs = std::filesystem;

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// kB value of a /proc/self/status field ("RssAnon", "RssFile", "VmHWM").
long status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

void memory(const char* when) {
  std::printf("  %-34s RssAnon %7.1f MB  RssFile %7.1f MB\n", when, status_kb("RssAnon") / 1024.0,
              status_kb("RssFile") / 1024.0);
}

double touch(const lethe::io::StateDict& tensors) {
  double sum = 0;
  for (const auto& [name, t] : tensors) sum += t.sum().item<double>();
  return sum;
}

void bench_file(const fs::path& path, int repeats) {
  const double mb = fs::file_size(path) / 1e6;
  std::printf("%s (%.1f MB)\n", path.c_str(), mb);
  double best_open = 1e9;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto file = lethe::io::SafetensorsFile::open(path);
    best_open = std::min(best_open, seconds_since(start));
  }
  std::printf("  open + validate header:            %8.3f ms\n", best_open * 1e3);
  memory("before load");
  auto start = std::chrono::steady_clock::now();
  lethe::io::StateDict views = lethe::io::load_state_dict(path);
  std::printf("  load_state_dict (zero-copy views): %8.3f ms  (%zu tensors)\n",
              seconds_since(start) * 1e3, views.size());
  start = std::chrono::steady_clock::now();
  double sum = touch(views);
  double t_touch = seconds_since(start);
  std::printf("  first touch of every byte (sum):   %8.3f ms  %8.0f MB/s  (sum %.3g)\n",
              t_touch * 1e3, mb / t_touch, sum);
  memory("after load + touch (fp32 views)");
  start = std::chrono::steady_clock::now();
  lethe::io::StateDict bf16 = lethe::io::load_state_dict(path, torch::kBFloat16);
  double t_bf16 = seconds_since(start);
  std::printf("  load_state_dict(dtype=bf16):       %8.3f ms  %8.0f MB/s\n", t_bf16 * 1e3,
              mb / t_bf16);
  memory("after bf16 load (views still held)");
  views.clear();
  memory("after dropping fp32 views");
  start = std::chrono::steady_clock::now();
  std::string copy;
  {
    std::ifstream in(path, std::ios::binary);
    copy.resize(fs::file_size(path));
    in.read(copy.data(), copy.size());
  }
  double t_read = seconds_since(start);
  std::printf("  baseline: ifstream read into RAM:  %8.3f ms  %8.0f MB/s\n", t_read * 1e3,
              mb / t_read);
}
}  // namespace

int main(int argc, char** argv) {
  const double megabytes = argc > 1 ? std::stod(argv[1]) : 500.0;
  const fs::path tmp = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path();
  torch::set_num_threads(1);
  std::printf("threads: 1 (libtorch %s)\n\n", TORCH_VERSION);
  const fs::path fixture = fs::path(LETHE_SOURCE_DIR) / ".." / "shared" / "fixtures" /
                           "qwen2-tiny" / "model.safetensors";
  if (fs::exists(fixture)) bench_file(fixture, 20);

  // Qwen2.5-0.5B MLP-shaped matrices [4864, 896] F32 (17.4 MB each) up to the requested size.
  const int64_t per_tensor = 4864LL * 896 * 4;
  const int count = std::max<int>(1, static_cast<int>(megabytes * 1e6 / per_tensor));
  const fs::path big = tmp / "lethe_bench_safetensors.safetensors";
  {
    lethe::io::StateDict tensors;
    torch::manual_seed(0);
    for (int i = 0; i < count; ++i)
      tensors["model.layers." + std::to_string(i) + ".mlp.up_proj.weight"] =
          torch::randn({4864, 896});
    auto start = std::chrono::steady_clock::now();
    lethe::io::write_safetensors(big, tensors);
    double t = seconds_since(start);
    std::printf("\nwrite_safetensors %d x [4864, 896] F32: %.3f s  %.0f MB/s (incl. fsync)\n\n",
                count, t, fs::file_size(big) / 1e6 / t);
  }
  bench_file(big, 5);
  fs::remove(big);
  return 0;
}
