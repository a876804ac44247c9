// core::Rng over its two engines: the engines' published outputs, and draws pinned to the values
// of the two generators it replaced (datagen::Rng over mt19937_64, data::SplitMix64), so datasets
// and batch orders stay what they were.
#include "core/rng.h"

#include <gtest/gtest.h>

namespace lethe::core {
namespace {

TEST(Rng, EnginesGiveTheirPublishedOutputs) {
  SplitMix64Rng s(0);
  EXPECT_EQ(s.next(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(s.next(), 0x6E789E6AA1B965F4ULL);
  Mt19937Rng m(5489);  // the C++ standard fixes the 10000th output for the default seed
  for (int i = 0; i < 9999; ++i) m.next();
  EXPECT_EQ(m.next(), 9981545732273789042ULL);
}

TEST(Rng, DrawsMatchTheGeneratorsItReplaced) {
  // Values printed by the former datagen::Rng(42) and data::SplitMix64(42), call for call.
  Mt19937Rng m(42);
  std::vector<uint64_t> below;
  for (int i = 0; i < 5; ++i) below.push_back(m.below(1000));
  EXPECT_EQ(below, (std::vector<uint64_t>{406, 824, 450, 662, 381}));
  std::vector<int> range;
  for (int i = 0; i < 5; ++i) range.push_back(m.range(1950, 1985));
  EXPECT_EQ(range, (std::vector<int>{1982, 1954, 1974, 1960, 1951}));
  std::vector<int> chance;
  for (int i = 0; i < 8; ++i) chance.push_back(m.chance(0.5));
  EXPECT_EQ(chance, (std::vector<int>{1, 0, 0, 0, 0, 0, 0, 1}));
  std::vector<int> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  m.shuffle(v);
  EXPECT_EQ(v, (std::vector<int>{0, 2, 5, 1, 6, 7, 4, 3, 8, 9}));

  SplitMix64Rng s(42);
  below.clear();
  for (int i = 0; i < 5; ++i) below.push_back(s.below(1000));
  EXPECT_EQ(below, (std::vector<uint64_t>{413, 291, 858, 764, 250}));
  std::vector<int64_t> w{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  s.shuffle(w);
  EXPECT_EQ(w, (std::vector<int64_t>{0, 8, 3, 7, 5, 9, 6, 4, 1, 2}));
}

TEST(Rng, BelowIsUnbiasedAndInRange) {
  Mt19937Rng m(1);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    uint64_t x = m.below(7);
    ASSERT_LT(x, 7u);
    counts[x]++;
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);  // ~4 standard deviations
  EXPECT_EQ(m.below(1), 0u);
  for (int i = 0; i < 100; ++i) {
    int r = m.range(-2, 2);
    EXPECT_GE(r, -2);
    EXPECT_LE(r, 2);
  }
}

}  // namespace
}  // namespace lethe::core
