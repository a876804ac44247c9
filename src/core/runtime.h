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
std::string dtype_name(c10::ScalarType dtype);

// Seeds libtorch (CPU and CUDA) and returns the seed.
uint64_t seed_everything(uint64_t seed);

}  // namespace lethe::core
