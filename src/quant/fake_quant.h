// Fake quantization of a weight matrix (quantize then dequantize, in fp32): int8 absmax per output
// channel, LLM.int8-style outlier columns, int4 round-to-nearest by groups, NF4 (+ double quant).
// Packing into real low-bit kernels is not done; `bytes` is the size the packed form would take.
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace lethe::quant {

// Shapes: O output channels (rows), I input features (columns), G groups per row.
struct QuantizedWeight {
  torch::Tensor dequantized;      // [O, I] fp32: what the model computes with
  torch::Tensor codes;            // [O, I] int64 integer codes (outlier columns of int8_outlier: 0)
  torch::Tensor scales;           // int8: [O]; int4: [O, G]; nf4: [O*I/64] absmax per block
  torch::Tensor zero_points;      // int4 asymmetric: [O, G]; else undefined
  torch::Tensor outlier_columns;  // int8_outlier: [K] int64 column indices kept in 16-bit
  int64_t bytes = 0;              // codes + scales (+ zero points, outliers) when packed
};

// int8 (LLM.int8 "vector-wise"): scale_o = max_i |W[o, i]| / 127, q = round(W / scale) in
// [-127, 127]; one fp32 scale per row (bitsandbytes' SCB). An all-zero row gets scale 1.
QuantizedWeight quantize_int8(const torch::Tensor& weight);

// LLM.int8 mixed decomposition (Dettmers et al. 2022): the input columns whose calibration
// activation magnitude exceeds `threshold` stay in fp16, the rest is int8 as above (the absmax
// ignores the outlier columns). input_absmax [I] = max |x[:, i]| over calibration inputs.
QuantizedWeight quantize_int8_outlier(const torch::Tensor& weight,
                                      const torch::Tensor& input_absmax, double threshold = 6.0);

// int4 round-to-nearest by groups of `group_size` consecutive input features (a group size larger
// than the row, or <= 0, is one group per row; a last partial group is its own group).
// Symmetric: scale = absmax / 7, q in [-8, 7]. Asymmetric: scale = (max - min) / 15,
// zero = round(-min / scale) in [0, 15], q in [0, 15], deq = (q - zero) * scale. fp16 scales,
// 4-bit zero points (GPTQ packing).
QuantizedWeight quantize_int4(const torch::Tensor& weight, int64_t group_size, bool symmetric);

// bitsandbytes' NormalFloat-4 codebook, index 0..15 (QLoRA, Dettmers et al. 2023).
const std::array<float, 16>& nf4_codebook();

// bitsandbytes' signed 8-bit dynamic code (functional.create_dynamic_map(signed=True,
// max_exponent_bits=7, total_bits=8)): 256 sorted values in [-0.99297, 1], a decimal exponent
// 10^-6..10^0 times linearly spaced fractions, plus 0 and 1. QLoRA's double quantization stores the
// NF4 block scales in this code.
const std::array<float, 256>& dynamic_map_signed8();

// NF4: the flattened weight in blocks of `blocksize`, each scaled by its absmax to [-1, 1] and
// mapped to the nearest codebook value (ties to the lower index). double_quant (bitsandbytes'
// compress_statistics): the codes come from the exact absmax, then the fp32 absmax values are
// quantized themselves: their mean is subtracted (kept in fp32) and each block of 256 is scaled by
// its own absmax and mapped to the nearest value of dynamic_map_signed8(); dequantization uses the
// dequantized absmax. `scales` holds the absmax dequantization uses.
// A short last block is padded with zeros (they never raise its absmax).
QuantizedWeight quantize_nf4(const torch::Tensor& weight, int64_t blocksize = 64,
                             bool double_quant = false);

// Normalised mean squared error sum (W - deq)^2 / sum W^2 (0 for an all-zero W).
double weight_nmse(const torch::Tensor& weight, const torch::Tensor& dequantized);

}  // namespace lethe::quant
