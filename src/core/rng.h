// lethe's one seeded random source: bounded draws, picks and shuffles that give the same values on
// every platform and standard library (std distributions and std::shuffle do not), over one of two
// engines whose output is fixed: SplitMix64 (batch order, relearning) and std::mt19937_64 (the
// dataset generators). Not for cryptography.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace lethe::core {

// SplitMix64 (Steele, Lea, Flood 2014, "Fast splittable pseudorandom number generators"): a
// UniformRandomBitGenerator, so it can drive Rng as std::mt19937_64 does.
class SplitMix64Engine {
 public:
  using result_type = uint64_t;
  explicit SplitMix64Engine(uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return UINT64_MAX; }
  result_type operator()() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// Every draw is a function of the engine's 64-bit outputs alone, so two builds with the same seed
// see the same values. `Engine` yields uniform 64-bit words (SplitMix64Engine, std::mt19937_64).
template <typename Engine>
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }
  // Uniform in [0, n) by rejection of the top partial range (no modulo bias); n > 0.
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x = next();
    while (x >= limit) x = next();
    return x % n;
  }
  // Uniform in [lo, hi]; lo <= hi.
  int range(int lo, int hi) {
    return lo + static_cast<int>(below(static_cast<uint64_t>(hi - lo + 1)));
  }
  // True with probability p (53 random bits, as a double in [0, 1)).
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

  // One element, uniformly; items is not empty.
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }
  // Fisher-Yates, from the back.
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

 private:
  Engine engine_;
};

using SplitMix64Rng = Rng<SplitMix64Engine>;  // batch order, relearning splits
using Mt19937Rng = Rng<std::mt19937_64>;      // the dataset generators (their bytes depend on it)

}  // namespace lethe::core
