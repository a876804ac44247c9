// A seeded random source whose draws are identical on every platform: std::mt19937_64 (its output
// is fixed by the standard) with our own bounded sampling and shuffling (std distributions are
// not).
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lethe::datagen {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, n) by rejection (no modulo bias); n > 0.
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = engine_();
    while (x >= limit);
    return x % n;
  }
  // Uniform in [lo, hi].
  int range(int lo, int hi) {
    return lo + static_cast<int>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }

  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }
  // Fisher-Yates.
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }
  // An independent stream derived from this one and a label (stable when other streams change).
  Rng fork(const std::string& label) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a of the label, mixed with the next draw
    for (unsigned char c : label) h = (h ^ c) * 1099511628211ull;
    return Rng(h ^ engine_());
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace lethe::datagen
