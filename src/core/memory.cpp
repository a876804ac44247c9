// Available memory from /proc/meminfo, cgroups and RLIMIT_AS; the pre-allocation check.
#include "core/memory.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace lethe::core {

namespace {

constexpr uint64_t kUnknown = std::numeric_limits<uint64_t>::max();

// The value of "KEY: N kB" in a /proc file, in bytes.
uint64_t proc_field_kb(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0 || line.size() <= key.size() ||
        line[key.size()] != ':')
      continue;
    unsigned long long kb = 0;
    if (std::sscanf(line.c_str() + key.size() + 1, "%llu", &kb) == 1) return kb * 1024ull;
  }
  return kUnknown;
}

// The first number in a file ("max" or a missing file: unknown).
uint64_t file_number(const char* path) {
  std::ifstream in(path);
  unsigned long long value = 0;
  if (!(in >> value)) return kUnknown;
  return value;
}

uint64_t cgroup_available() {
  // v2: memory.max / memory.current; v1: memory.limit_in_bytes / memory.usage_in_bytes.
  for (const auto& [limit_file, usage_file] :
       {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        std::pair{"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                  "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const uint64_t limit = file_number(limit_file), usage = file_number(usage_file);
    // v1 reports "no limit" as a huge page-rounded number.
    if (limit == kUnknown || usage == kUnknown || limit >= (1ull << 60)) continue;
    return limit > usage ? limit - usage : 0;
  }
  return kUnknown;
}

uint64_t address_space_available() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kUnknown;
  const uint64_t used = proc_field_kb("/proc/self/status", "VmSize");
  if (used == kUnknown) return limit.rlim_cur;
  return limit.rlim_cur > used ? limit.rlim_cur - used : 0;
}

}  // namespace

uint64_t available_memory_bytes() {
  return std::min({proc_field_kb("/proc/meminfo", "MemAvailable"), cgroup_available(),
                   address_space_available()});
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
  size_t unit = 0;
  while (bytes >= 1024.0 && unit + 1 < sizeof(units) / sizeof(units[0])) {
    bytes /= 1024.0;
    ++unit;
  }
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(unit == 0 ? 0 : 1);
  out << bytes << " " << units[unit];
  return out.str();
}

void check_memory_for(double bytes, const std::string& what, const std::string& hint) {
  const char* env = std::getenv("LETHE_MEMORY_CHECK");
  if (env && std::string(env) == "0") return;
  const uint64_t available = available_memory_bytes();
  if (available == kUnknown || bytes <= static_cast<double>(available)) return;
  LETHE_FAIL(what, " needs ", format_bytes(bytes), " of memory but only ",
             format_bytes(static_cast<double>(available)), " is available", hint,
             " (LETHE_MEMORY_CHECK=0 skips this check)");
}

}  // namespace lethe::core
