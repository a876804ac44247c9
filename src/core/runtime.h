// Process-wide runtime set-up: threads, BLAS sanity, device and dtype parsing, seeding.
// Keeps torch/torch.h out: callers that need tensors include it themselves.
#pragma once
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>

namespace lethe::core {

// The cores this process may run on: its CPU affinity (taskset, a container's cpuset), at least 1.
int available_cores();

// Sets libtorch's intra-op threads (0 = all available cores) and returns the count in use. More
// than available_cores() is capped to it with a one-line warning on stderr: extra threads only
// contend (--threads 100000 started ~700 threads and never finished a 4-token generation).
int setup_threads(int requested);

// Keeps memory that tensors free for reuse by later allocations instead of returning it to the
// kernel at once (glibc malloc; a no-op elsewhere). A training step frees and re-allocates the same
// tensors every step; with glibc's defaults each step re-faulted and re-zeroed their pages (5-9% of
// a micro-shape LoRA step). Called at CLI start-up.
void keep_freed_memory();

// True when libtorch links the slow reference BLAS instead of an optimised one (OpenBLAS, MKL).
bool using_reference_blas();

// The path of the OpenBLAS library this process loaded ("" when none), e.g.
// /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0 (the OpenMP build, CMakeLists.txt).
std::string openblas_library();

// Warns on stderr once when using_reference_blas(); called at CLI start-up.
void warn_if_slow_blas();

// "cpu", "cuda", "cuda:1" -> a device; throws when CUDA is requested but absent.
c10::Device parse_device(const std::string& name);

// "float32" | "bfloat16" | "float16" -> dtype.
c10::ScalarType parse_dtype(const std::string& name);

// The compute dtype of a command on `device`: parse_dtype(name), and "auto" -> bfloat16 where the
// hardware runs bf16 matmuls fast (a CUDA device, or a CPU with avx512_bf16 / amx_bf16), float32
// elsewhere. On a CPU without those, a bf16 matmul runs about 40x slower than fp32 (Zen 3: 1.2 vs
// 47 GFLOP/s), so asking for bfloat16 there prints slow_bf16_warning() once.
c10::ScalarType parse_dtype(const std::string& name, const c10::Device& device);

// What "auto" resolves to for a device kind and CPU capability (the rule above, testable alone).
c10::ScalarType auto_dtype(bool cuda, bool cpu_fast_bf16);

// True when /proc/cpuinfo's flags list avx512_bf16 or amx_bf16 (read once; false off Linux).
bool cpu_has_fast_bf16();
// The same test on the text of a /proc/cpuinfo.
bool cpuinfo_has_fast_bf16(const std::string& cpuinfo);

// The one-line warning for bf16 compute on this device ("" when bf16 is fast there). `what` names
// the setting ("--dtype bfloat16", "autocast bfloat16").
std::string slow_bf16_warning(const std::string& what, bool cuda, bool cpu_fast_bf16);
// Prints slow_bf16_warning for this machine on stderr, once per process.
void warn_if_slow_bf16(const std::string& what, const c10::Device& device);
std::string dtype_name(c10::ScalarType dtype);

// Seeds libtorch (CPU and CUDA) and returns the seed.
uint64_t seed_everything(uint64_t seed);

}  // namespace lethe::core
