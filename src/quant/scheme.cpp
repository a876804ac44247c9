// The scheme table and its dispatch to the kernels of fake_quant.h.
#include "quant/scheme.h"

#include "core/error.h"

namespace lethe::quant {

const std::vector<Scheme>& schemes() {
  static const std::vector<Scheme> table = {
      {"int8", "int8 round-to-nearest, one absmax scale per output channel", 8, false},
      {"int8_outlier", "LLM.int8: int8 per channel, input columns with |x| > 6 kept in fp16", 8,
       true},
      {"int4_g128_sym", "int4 round-to-nearest, groups of 128, symmetric", 4, false},
      {"int4_g128_asym", "int4 round-to-nearest, groups of 128, zero point", 4, false},
      {"int4_g64_sym", "int4 round-to-nearest, groups of 64, symmetric", 4, false},
      {"int4_g64_asym", "int4 round-to-nearest, groups of 64, zero point", 4, false},
      {"nf4", "NormalFloat4 (bitsandbytes codebook), blocksize 64, absmax", 4, false},
      {"nf4_dq", "NF4 with double quantization of the absmax scales (8-bit, blocks of 256)", 4,
       false},
  };
  return table;
}

const Scheme& find_scheme(const std::string& name) {
  std::string valid;
  for (const auto& s : schemes()) {
    if (s.name == name) return s;
    valid += (valid.empty() ? "" : ", ") + s.name;
  }
  throw UsageError("unknown quantization scheme '" + name + "' (valid: " + valid + ")");
}

QuantizedWeight quantize_weight(const std::string& scheme, const torch::Tensor& weight,
                                const torch::Tensor& input_absmax) {
  const Scheme& s = find_scheme(scheme);
  if (s.name == "int8") return quantize_int8(weight);
  if (s.name == "int8_outlier") {
    LETHE_CHECK(input_absmax.defined(), "int8_outlier needs calibration activations");
    return quantize_int8_outlier(weight, input_absmax, 6.0);
  }
  if (s.name == "int4_g128_sym") return quantize_int4(weight, 128, true);
  if (s.name == "int4_g128_asym") return quantize_int4(weight, 128, false);
  if (s.name == "int4_g64_sym") return quantize_int4(weight, 64, true);
  if (s.name == "int4_g64_asym") return quantize_int4(weight, 64, false);
  if (s.name == "nf4") return quantize_nf4(weight, 64, false);
  return quantize_nf4(weight, 64, true);  // nf4_dq
}

}  // namespace lethe::quant
