// Threads, BLAS detection, device/dtype parsing, seeding.
#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace lethe::core {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

int setup_threads(int requested) {
  const int cores = available_cores();
  int n = requested > 0 ? requested : cores;
  if (n > cores) {
    std::fprintf(stderr,
                 "lethe: warning: --threads %d is more than the %d available cores; using %d\n",
                 requested, cores, cores);
    n = cores;
  }
  at::set_num_threads(n);
  // OpenBLAS keeps its own thread pool (OPENBLAS_NUM_THREADS, default: all cores) whose idle
  // threads spin in sched_yield; left alone, `--threads 1` still ran every matmul on two threads,
  // and on a busy machine the spinning cost more than the matmuls. Keep both pools the same size.
  using SetBlasThreads = void (*)(int);
  if (auto* set_blas_threads =
          reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(n);
  return at::get_num_threads();
}

void keep_freed_memory() {
#ifdef __GLIBC__
  // Blocks up to glibc's largest mmap threshold (32 MB) come from the heap, and up to 512 MB of
  // free heap stays mapped; setting either also turns off glibc's own threshold adjustment.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

namespace {
int find_blas(struct dl_phdr_info* info, size_t, void* data) {
  const char* name = info->dlpi_name;
  if (name && (std::strstr(name, "openblas") || std::strstr(name, "libmkl") ||
               std::strstr(name, "blis") || std::strstr(name, "atlas"))) {
    *static_cast<bool*>(data) = true;
  }
  return 0;
}
int find_openblas(struct dl_phdr_info* info, size_t, void* data) {
  const char* name = info->dlpi_name;
  if (name && std::strstr(name, "libopenblas")) {
    *static_cast<std::string*>(data) = name;
    return 1;
  }
  return 0;
}
}  // namespace

std::string openblas_library() {
  std::string path;
  dl_iterate_phdr(find_openblas, &path);
  return path;
}

bool using_reference_blas() {
  bool optimised = false;
  dl_iterate_phdr(find_blas, &optimised);
  if (optimised) return false;
  // Debian resolves libblas.so.3 through alternatives: the reference one lives under blas/.
  char resolved[4096] = {0};
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (!maps) return false;
  char line[4096];
  bool reference = false;
  while (std::fgets(line, sizeof line, maps)) {
    if (std::strstr(line, "/blas/libblas.so")) reference = true;
    if (std::strstr(line, "openblas")) {
      std::fclose(maps);
      return false;
    }
  }
  std::fclose(maps);
  (void)resolved;
  return reference;
}

void warn_if_slow_blas() {
  static bool warned = false;
  if (warned) return;
  warned = true;
  if (using_reference_blas()) {
    std::fprintf(stderr,
                 "lethe: warning: libtorch is using the reference BLAS (about 30x slower); "
                 "install libopenblas-dev (scripts/install-deps.sh)\n");
  }
}

c10::Device parse_device(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    throw UsageError("--device: unknown device '" + name + "' (expected cpu or cuda[:N])");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw UsageError("--device " + name + ": this libtorch build has no usable CUDA device");
  return device;
}

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "float") return c10::kFloat;
  if (name == "bfloat16" || name == "bf16") return c10::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "half") return c10::kHalf;
  throw UsageError("--dtype: unknown dtype '" + name + "' (expected float32, bfloat16 or float16)");
}

bool cpuinfo_has_fast_bf16(const std::string& cpuinfo) {
  std::istringstream lines(cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(
        line.substr(line.find(':') == std::string::npos ? line.size() : line.find(':') + 1));
    std::string flag;
    while (words >> flag)
      if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
    return false;  // the first processor's flags speak for all
  }
  return false;
}

bool cpu_has_fast_bf16() {
  static const bool fast = [] {
    std::ifstream in("/proc/cpuinfo");
    std::stringstream text;
    text << in.rdbuf();
    return cpuinfo_has_fast_bf16(text.str());
  }();
  return fast;
}

c10::ScalarType auto_dtype(bool cuda, bool cpu_fast_bf16) {
  return (cuda || cpu_fast_bf16) ? c10::kBFloat16 : c10::kFloat;
}

std::string slow_bf16_warning(const std::string& what, bool cuda, bool cpu_fast_bf16) {
  if (cuda || cpu_fast_bf16) return "";
  return "lethe: warning: " + what +
         " on a CPU without avx512_bf16 or amx_bf16: bf16 matmuls run about 40x slower than "
         "float32 here; use --dtype auto or float32";
}

void warn_if_slow_bf16(const std::string& what, const c10::Device& device) {
  static bool warned = false;
  const std::string text = slow_bf16_warning(what, device.is_cuda(), cpu_has_fast_bf16());
  if (warned || text.empty()) return;
  warned = true;
  std::fprintf(stderr, "%s\n", text.c_str());
}

c10::ScalarType parse_dtype(const std::string& name, const c10::Device& device) {
  if (name == "auto") return auto_dtype(device.is_cuda(), cpu_has_fast_bf16());
  c10::ScalarType dtype;
  try {
    dtype = parse_dtype(name);
  } catch (const UsageError&) {
    throw UsageError("--dtype: unknown dtype '" + name +
                     "' (expected auto, float32, bfloat16 or float16)");
  }
  if (dtype == c10::kBFloat16) warn_if_slow_bf16("--dtype bfloat16", device);
  return dtype;
}

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat:
      return "float32";
    case c10::kBFloat16:
      return "bfloat16";
    case c10::kHalf:
      return "float16";
    case c10::kDouble:
      return "float64";
    default:
      return c10::toString(dtype);
  }
}

uint64_t seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  return seed;
}

}  // namespace lethe::core
