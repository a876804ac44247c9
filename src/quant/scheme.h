// The quantization schemes by name (the registry key, the CLI value and the results key), and one
// entry point that fake-quantizes a weight with a scheme.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "quant/fake_quant.h"

namespace lethe::quant {

struct Scheme {
  std::string name;                // "int8", "int4_g128_sym", "nf4_dq", ...
  std::string description;         // one line for --help and the docs
  double bits = 0;                 // code bits per weight (without scales)
  bool needs_calibration = false;  // int8_outlier: input activation absmax per column
};

// Every scheme in a fixed order: int8, int8_outlier, int4_g128_sym, int4_g128_asym, int4_g64_sym,
// int4_g64_asym, nf4, nf4_dq.
const std::vector<Scheme>& schemes();

// The scheme named `name`; throws lethe::UsageError listing the valid names.
const Scheme& find_scheme(const std::string& name);

// Fake-quantizes weight [O, I] with the scheme; input_absmax [I] is required for int8_outlier
// (and ignored otherwise).
QuantizedWeight quantize_weight(const std::string& scheme, const torch::Tensor& weight,
                                const torch::Tensor& input_absmax = {});

}  // namespace lethe::quant
