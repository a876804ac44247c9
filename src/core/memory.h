// How much memory this process can still use, and the check made before a large allocation (a
// model's weights), so that a model too large for the machine is a one-line error, not the OOM
// killer.
#pragma once
#include <cstdint>
#include <string>

namespace lethe::core {

// The least of: MemAvailable (/proc/meminfo), the cgroup's memory limit minus its usage (v2 or v1),
// and RLIMIT_AS minus the address space in use. UINT64_MAX when none of them can be read.
uint64_t available_memory_bytes();

// "512 B", "3.2 MB", "1.5 GB", "2.0 TB" (powers of 1024).
std::string format_bytes(double bytes);

// Throws lethe::Error "WHAT needs X of memory but only Y is available HINT" when `bytes` exceeds
// available_memory_bytes(). LETHE_MEMORY_CHECK=0 in the environment skips the check (a model whose
// weights are memory-mapped can still run, slowly, from the page cache).
void check_memory_for(double bytes, const std::string& what, const std::string& hint = "");

}  // namespace lethe::core
