// Exact small cases and error bounds of the fake-quantization kernels and the scheme registry.
#include "quant/fake_quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "expect_close.h"
#include "quant/scheme.h"

namespace lethe::quant {
namespace {

TEST(QuantInt8, KnownCodesAndScales) {
  const torch::Tensor w =
      torch::tensor({{1.27f, -0.635f, 0.0f, 0.01f}, {-2.54f, 1.0f, 0.5f, 0.0f}});
  const auto q = quantize_int8(w);
  EXPECT_CLOSE("scales", q.scales, torch::tensor({0.01f, 0.02f}), 1e-7);
  EXPECT_TRUE(
      torch::equal(q.codes, torch::tensor({{127, -64, 0, 1}, {-127, 50, 25, 0}}, torch::kInt64)))
      << q.codes;  // -0.635 / 0.01 = -63.5 rounds half to even -> -64
  EXPECT_CLOSE("deq", q.dequantized,
               torch::tensor({{1.27f, -0.64f, 0.0f, 0.01f}, {-2.54f, 1.0f, 0.5f, 0.0f}}), 1e-6);
  EXPECT_EQ(q.bytes, 8 + 2 * 4);
}

TEST(QuantInt8, ZeroRowStaysZeroAndErrorBound) {
  torch::manual_seed(0);
  torch::Tensor w = torch::randn({16, 40});
  w[3].zero_();
  const auto q = quantize_int8(w);
  EXPECT_TRUE(torch::equal(q.dequantized[3], torch::zeros({40})));
  const torch::Tensor err = (w - q.dequantized).abs();
  EXPECT_TRUE((err <= q.scales.unsqueeze(1) / 2 + 1e-6).all().item<bool>());
  EXPECT_LT(weight_nmse(w, q.dequantized), 1e-4);
}

TEST(QuantInt8, OutlierColumnsKeptInFp16) {
  torch::manual_seed(1);
  torch::Tensor w = torch::randn({8, 12}) * 0.1;
  w.index_put_({torch::indexing::Slice(), 5}, 40.0);  // a huge column that would wreck the absmax
  torch::Tensor absmax = torch::ones({12});
  absmax[5] = 9.0;  // > 6: outlier
  const auto q = quantize_int8_outlier(w, absmax, 6.0);
  ASSERT_EQ(q.outlier_columns.numel(), 1);
  EXPECT_EQ(q.outlier_columns[0].item<int64_t>(), 5);
  EXPECT_CLOSE("outlier col", q.dequantized.select(1, 5), w.select(1, 5), 0, 1e-3);
  // The scale ignores the outlier column, so the rest is as fine as int8 without it.
  const torch::Tensor regular = w.clone();
  regular.select(1, 5).zero_();
  EXPECT_CLOSE("scales", q.scales, quantize_int8(regular).scales, 1e-7);
  EXPECT_LT(weight_nmse(w, q.dequantized), weight_nmse(w, quantize_int8(w).dequantized) / 100);
  EXPECT_EQ(q.bytes, 8 * 11 + 4 * 8 + 2 * 8);
  EXPECT_THROW(quantize_int8_outlier(w, torch::ones({11}), 6.0), Error);
}

TEST(QuantInt4, SymmetricKnownCodes) {
  // One group of 4: absmax 0.7 -> scale 0.1, codes round(w / 0.1) clamped to [-8, 7].
  const torch::Tensor w = torch::tensor({{0.7f, -0.7f, 0.26f, 0.04f}});
  const auto q = quantize_int4(w, 128, true);  // group larger than the row -> one group
  EXPECT_EQ(q.scales.sizes(), torch::IntArrayRef({1, 1}));
  EXPECT_NEAR(q.scales.item<float>(), 0.1f, 1e-7);
  EXPECT_TRUE(torch::equal(q.codes, torch::tensor({{7, -7, 3, 0}}, torch::kInt64))) << q.codes;
  EXPECT_CLOSE("deq", q.dequantized, torch::tensor({{0.7f, -0.7f, 0.3f, 0.0f}}), 1e-6);
}

TEST(QuantInt4, AsymmetricKnownCodes) {
  // min -0.5, max 1.0 -> scale 0.1, zero round(5) = 5, q = round(w / 0.1) + 5.
  const torch::Tensor w = torch::tensor({{-0.5f, 1.0f, 0.0f, 0.33f}});
  const auto q = quantize_int4(w, 64, false);
  EXPECT_NEAR(q.scales.item<float>(), 0.1f, 1e-7);
  EXPECT_EQ(q.zero_points.item<int64_t>(), 5);
  EXPECT_TRUE(torch::equal(q.codes, torch::tensor({{0, 15, 5, 8}}, torch::kInt64))) << q.codes;
  EXPECT_CLOSE("deq", q.dequantized, torch::tensor({{-0.5f, 1.0f, 0.0f, 0.3f}}), 1e-6);
}

TEST(QuantInt4, GroupsAndErrorBounds) {
  torch::manual_seed(2);
  const torch::Tensor w = torch::randn({6, 200});  // 200 = 128 + 72 (partial last group)
  for (int64_t g : {64, 128}) {
    for (bool sym : {true, false}) {
      const auto q = quantize_int4(w, g, sym);
      const int64_t G = (200 + g - 1) / g;
      ASSERT_EQ(q.scales.sizes(), torch::IntArrayRef({6, G}));
      // Per element: |w - deq| <= scale / 2 of its group.
      const torch::Tensor idx = torch::div(torch::arange(200), g, "floor");
      const torch::Tensor scale = q.scales.index_select(1, idx);
      const torch::Tensor err = (w - q.dequantized).abs();
      EXPECT_TRUE((err <= scale / 2 + 1e-6).all().item<bool>()) << "g " << g << " sym " << sym;
      EXPECT_GE(q.codes.min().item<int64_t>(), sym ? -8 : 0);
      EXPECT_LE(q.codes.max().item<int64_t>(), sym ? 7 : 15);
      EXPECT_EQ(q.bytes, 600 + 2 * 6 * G + (sym ? 0 : (6 * G + 1) / 2));
    }
  }
  // Smaller groups are finer.
  EXPECT_LT(weight_nmse(w, quantize_int4(w, 64, true).dequantized),
            weight_nmse(w, quantize_int4(w, 200, true).dequantized));
}

TEST(QuantNf4, CodebookAndKnownCodes) {
  const auto& cb = nf4_codebook();
  EXPECT_EQ(cb[0], -1.0f);
  EXPECT_EQ(cb[7], 0.0f);
  EXPECT_EQ(cb[15], 1.0f);
  EXPECT_FLOAT_EQ(cb[8], 0.07958029955625534f);
  // Block of 4 with absmax 2: normalised 1, -0.5, 0.1, 0 -> nearest codes 15, 2 (-0.5251),
  // 8 (0.0796), 7.
  const torch::Tensor w = torch::tensor({{2.0f, -1.0f, 0.2f, 0.0f}});
  const auto q = quantize_nf4(w, 4, false);
  EXPECT_TRUE(torch::equal(q.codes, torch::tensor({{15, 2, 8, 7}}, torch::kInt64))) << q.codes;
  EXPECT_CLOSE("deq", q.dequantized,
               torch::tensor({{2.0f, -2 * 0.5250730514526367f, 2 * 0.07958029955625534f, 0.0f}}),
               1e-6);
  EXPECT_NEAR(q.scales.item<float>(), 2.0f, 0);
}

TEST(QuantNf4, ErrorBoundAndDoubleQuant) {
  torch::manual_seed(3);
  const torch::Tensor w = torch::randn({32, 128});
  const auto q = quantize_nf4(w, 64, false);
  ASSERT_EQ(q.scales.numel(), 64);
  // Per element: at most half the widest codebook gap times the block absmax.
  const auto& cb = nf4_codebook();
  double gap = 0;
  for (int i = 1; i < 16; ++i) gap = std::max(gap, double(cb[i] - cb[i - 1]));
  const torch::Tensor absmax = q.scales.repeat_interleave(64).view({32, 128});
  EXPECT_TRUE(((w - q.dequantized).abs() <= absmax * gap / 2 + 1e-6).all().item<bool>());
  EXPECT_EQ(q.bytes, 32 * 128 / 2 + 4 * 64);
  const auto dq = quantize_nf4(w, 64, true);
  EXPECT_EQ(dq.bytes, 32 * 128 / 2 + 64 + 4 + 4);
  // bitsandbytes picks the 4-bit codes with the exact absmax; only dequantization sees the
  // double-quantized one.
  EXPECT_TRUE(torch::equal(dq.codes, q.codes));
  // Double quantization perturbs the scales a little, so the error grows only slightly.
  EXPECT_LT((dq.scales - q.scales).abs().max().item<float>(), 0.02f);
  EXPECT_LT(weight_nmse(w, dq.dequantized), 1.1 * weight_nmse(w, q.dequantized));
  EXPECT_LT(weight_nmse(w, q.dequantized), 0.02);  // NF4 on Gaussian weights: ~1% NMSE
}

// bitsandbytes' create_dynamic_map(signed=True): 2 x (1 + 2 + ... + 64) fractions, 0 and 1.
TEST(QuantNf4, DynamicMapOfDoubleQuant) {
  const auto& dm = dynamic_map_signed8();
  EXPECT_TRUE(std::is_sorted(dm.begin(), dm.end()));
  EXPECT_EQ(std::adjacent_find(dm.begin(), dm.end()), dm.end());  // 256 distinct values
  EXPECT_EQ(dm.back(), 1.0f);
  // Exponent 0, 64 fractions: the last midpoint of linspace(0.1, 1, 65) is 1 - 0.9 / 128.
  EXPECT_NEAR(dm.front(), -0.99296875f, 1e-7);
  EXPECT_NEAR(dm[254], 0.99296875f, 1e-7);
  // Exponent -6, one fraction: 1e-6 x the midpoint of [0.1, 1].
  EXPECT_NE(std::find(dm.begin(), dm.end(), 0.0f), dm.end());
  const auto smallest = std::upper_bound(dm.begin(), dm.end(), 0.0f);
  EXPECT_NEAR(*smallest, 0.55e-6f, 1e-12);
  // Symmetric apart from 1.0: every negative value has its positive twin.
  for (float v : dm)
    if (v < 0) EXPECT_NE(std::find(dm.begin(), dm.end(), -v), dm.end()) << v;
  // Two blocks with absmax 2 and 1: offset 1.5, centred +-0.5, second-level absmax 0.5, so the
  // normalised scales are +1 (code 1.0, exact) and -1 (nearest code -0.99296875):
  // dequantized absmax 2.0 and 1.5 - 0.99296875 * 0.5.
  const torch::Tensor w = torch::tensor({2.0f, 0.5f, -0.25f, 0.0f, -1.0f, 0.5f, 0.0f, 0.25f});
  const auto dq = quantize_nf4(w, 4, true);
  ASSERT_EQ(dq.scales.numel(), 2);
  EXPECT_FLOAT_EQ(dq.scales[0].item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(dq.scales[1].item<float>(), 1.5f - 0.99296875f * 0.5f);
  // Codes from the exact absmax: -1.0 / 1 is code 0, and its value uses the dequantized scale.
  EXPECT_EQ(dq.codes[4].item<int64_t>(), 0);
  EXPECT_FLOAT_EQ(dq.dequantized[4].item<float>(), -(1.5f - 0.99296875f * 0.5f));
}

TEST(QuantScheme, RegistryAndUnknownName) {
  std::vector<std::string> names;
  for (const auto& s : schemes()) names.push_back(s.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"int8", "int8_outlier", "int4_g128_sym", "int4_g128_asym",
                                      "int4_g64_sym", "int4_g64_asym", "nf4", "nf4_dq"}));
  try {
    find_scheme("int3");
    FAIL() << "no throw";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("int3"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("nf4_dq"), std::string::npos);
  }
  torch::manual_seed(4);
  const torch::Tensor w = torch::randn({4, 256});
  EXPECT_TRUE(torch::equal(quantize_weight("int4_g64_asym", w).dequantized,
                           quantize_int4(w, 64, false).dequantized));
  EXPECT_THROW(quantize_weight("int8_outlier", w), Error);
}

}  // namespace
}  // namespace lethe::quant
