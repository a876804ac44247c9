// Quantize-then-dequantize kernels in plain torch ops (fp32 math on the weight's device).
#include "quant/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace lethe::quant {

namespace {

torch::Tensor as_matrix(const torch::Tensor& weight, const char* what) {
  LETHE_CHECK(weight.defined() && weight.dim() == 2, what,
              ": expected a 2-D weight [out, in], got ",
              weight.defined() ? weight.sizes() : torch::IntArrayRef{});
  return weight.detach().to(torch::kFloat32);
}

// absmax of each row [O, I] -> [O], 1 where a row is all zero (so q = 0 and deq = 0 exactly).
torch::Tensor safe_scale(const torch::Tensor& absmax, double qmax) {
  torch::Tensor scale = absmax / qmax;
  return torch::where(scale > 0, scale, torch::ones_like(scale));
}

}  // namespace

QuantizedWeight quantize_int8(const torch::Tensor& weight) {
  const torch::Tensor w = as_matrix(weight, "int8");               // [O, I]
  const torch::Tensor scale = safe_scale(w.abs().amax(1), 127.0);  // [O]
  const torch::Tensor q = torch::round(w / scale.unsqueeze(1)).clamp(-127, 127);
  QuantizedWeight out;
  out.codes = q.to(torch::kInt64);
  out.scales = scale;
  out.dequantized = q * scale.unsqueeze(1);
  out.bytes = w.numel() + 4 * w.size(0);
  return out;
}

QuantizedWeight quantize_int8_outlier(const torch::Tensor& weight,
                                      const torch::Tensor& input_absmax, double threshold) {
  const torch::Tensor w = as_matrix(weight, "int8_outlier");  // [O, I]
  LETHE_CHECK(
      input_absmax.defined() && input_absmax.dim() == 1 && input_absmax.size(0) == w.size(1),
      "int8_outlier: calibration absmax must be [", w.size(1), "], got ",
      input_absmax.defined() ? input_absmax.sizes() : torch::IntArrayRef{});
  const torch::Tensor outlier =
      (input_absmax.to(w.device()).to(torch::kFloat32) > threshold);                  // [I]
  const torch::Tensor keep = outlier.logical_not().to(torch::kFloat32).unsqueeze(0);  // [1, I]
  const torch::Tensor regular = w * keep;
  const torch::Tensor scale = safe_scale(regular.abs().amax(1), 127.0);  // [O]
  const torch::Tensor q = torch::round(regular / scale.unsqueeze(1)).clamp(-127, 127);
  const torch::Tensor fp16 = w.to(torch::kFloat16).to(torch::kFloat32) * (1 - keep);
  QuantizedWeight out;
  out.codes = q.to(torch::kInt64);
  out.scales = scale;
  out.outlier_columns = outlier.nonzero().flatten();
  out.dequantized = q * scale.unsqueeze(1) + fp16;
  const int64_t k = out.outlier_columns.numel();
  out.bytes = w.size(0) * (w.size(1) - k) + 4 * w.size(0) + 2 * w.size(0) * k;
  return out;
}

QuantizedWeight quantize_int4(const torch::Tensor& weight, int64_t group_size, bool symmetric) {
  const torch::Tensor w = as_matrix(weight, "int4");  // [O, I]
  const int64_t O = w.size(0), I = w.size(1);
  const int64_t g = (group_size <= 0 || group_size > I) ? I : group_size;
  const int64_t G = (I + g - 1) / g;
  // Pad the row to G * g with copies of nothing: padded entries are 0 and never change a group's
  // absmax; for asymmetric groups they are excluded through min/max over the real entries.
  torch::Tensor padded = torch::zeros({O, G * g}, w.options());
  padded.narrow(1, 0, I).copy_(w);
  torch::Tensor real = torch::zeros({O, G * g}, w.options().dtype(torch::kBool));
  real.narrow(1, 0, I).fill_(true);
  const torch::Tensor x = padded.view({O, G, g});  // [O, G, g]
  const torch::Tensor m = real.view({O, G, g});
  QuantizedWeight out;
  torch::Tensor q, deq;
  if (symmetric) {
    const torch::Tensor scale = safe_scale(x.abs().amax(2), 7.0);  // [O, G]
    q = torch::round(x / scale.unsqueeze(2)).clamp(-8, 7);
    deq = q * scale.unsqueeze(2);
    out.scales = scale;
  } else {
    const double inf = std::numeric_limits<float>::infinity();
    const torch::Tensor hi = torch::where(m, x, torch::full_like(x, -inf)).amax(2).clamp_min(0);
    const torch::Tensor lo = torch::where(m, x, torch::full_like(x, inf)).amin(2).clamp_max(0);
    const torch::Tensor scale = safe_scale(hi - lo, 15.0);              // [O, G]
    const torch::Tensor zero = torch::round(-lo / scale).clamp(0, 15);  // [O, G]
    q = (torch::round(x / scale.unsqueeze(2)) + zero.unsqueeze(2)).clamp(0, 15);
    deq = (q - zero.unsqueeze(2)) * scale.unsqueeze(2);
    out.scales = scale;
    out.zero_points = zero.to(torch::kInt64);
  }
  out.codes = q.view({O, G * g}).narrow(1, 0, I).to(torch::kInt64).contiguous();
  out.dequantized = deq.view({O, G * g}).narrow(1, 0, I).contiguous();
  // 4-bit codes, fp16 scales, 4-bit zero points.
  out.bytes = (O * I + 1) / 2 + 2 * O * G + (symmetric ? 0 : (O * G + 1) / 2);
  return out;
}

const std::array<float, 16>& nf4_codebook() {
  static const std::array<float, 16> code = {-1.0f,
                                             -0.6961928009986877f,
                                             -0.5250730514526367f,
                                             -0.39491748809814453f,
                                             -0.28444138169288635f,
                                             -0.18477343022823334f,
                                             -0.09105003625154495f,
                                             0.0f,
                                             0.07958029955625534f,
                                             0.16093020141124725f,
                                             0.24611230194568634f,
                                             0.33791524171829224f,
                                             0.44070982933044434f,
                                             0.5626170039176941f,
                                             0.7229568362236023f,
                                             1.0f};
  return code;
}

const std::array<float, 256>& dynamic_map_signed8() {
  static const std::array<float, 256> code = [] {
    // create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8): for exponent i (0..6)
    // 2^i fractions, the midpoints of torch.linspace(0.1, 1, 2^i + 1) in float32, times
    // 10^(i - 6), with both signs; no additional items (2^(7-7) - 1 = 0); then 0 and 1.0.
    std::vector<double> data;
    for (int i = 0; i < 7; ++i) {
      const torch::Tensor b = torch::linspace(0.1, 1.0, (int64_t{1} << i) + 1, torch::kFloat32);
      const torch::Tensor means =
          (b.narrow(0, 0, b.numel() - 1) + b.narrow(0, 1, b.numel() - 1)) / 2;
      const double scale = std::pow(10.0, i - 6);
      for (int64_t k = 0; k < means.numel(); ++k) {
        const double m = means[k].item<float>();  // tolist(): the float32 value as a double
        data.push_back(scale * m);
        data.push_back(-scale * m);
      }
    }
    data.push_back(0.0);
    data.push_back(1.0);
    std::sort(data.begin(), data.end());
    std::array<float, 256> out{};
    for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<float>(data[k]);
    return out;
  }();
  return code;
}

namespace {

// Index of the nearest value of the sorted `code` for every element of x (the lower on ties),
// without an [N, |code|] distance matrix.
torch::Tensor nearest_code_index(const torch::Tensor& x, const torch::Tensor& code) {
  const int64_t last = code.numel() - 1;
  const torch::Tensor upper = torch::bucketize(x, code).clamp(0, last);  // first code >= x
  const torch::Tensor lower = (upper - 1).clamp(0, last);
  const torch::Tensor pick_lower =
      (x - code.index({lower})).abs() <= (code.index({upper}) - x).abs();
  return torch::where(pick_lower, lower, upper);
}

}  // namespace

QuantizedWeight quantize_nf4(const torch::Tensor& weight, int64_t blocksize, bool double_quant) {
  LETHE_CHECK(blocksize > 0, "nf4: blocksize must be positive, got ", blocksize);
  LETHE_CHECK(weight.defined() && weight.numel() > 0, "nf4: empty weight");
  const torch::Tensor w = weight.detach().to(torch::kFloat32).contiguous();
  const int64_t n = w.numel();
  const int64_t nb = (n + blocksize - 1) / blocksize;
  torch::Tensor flat = torch::zeros({nb * blocksize}, w.options());
  flat.narrow(0, 0, n).copy_(w.flatten());
  const torch::Tensor blocks = flat.view({nb, blocksize});  // [nb, bs]
  const torch::Tensor absmax = blocks.abs().amax(1);        // [nb]
  const torch::Tensor safe = torch::where(absmax > 0, absmax, torch::ones_like(absmax));
  const torch::Tensor normed = blocks / safe.unsqueeze(1);  // [nb, bs] in [-1, 1]
  const auto& cb = nf4_codebook();
  const torch::Tensor code = torch::tensor(std::vector<float>(cb.begin(), cb.end()), w.options());
  // Nearest code value; argmin returns the first (lower) index on ties.
  const torch::Tensor idx = (normed.unsqueeze(2) - code).abs().argmin(2);  // [nb, bs]
  QuantizedWeight out;
  torch::Tensor deq_absmax = absmax;  // an all-zero block keeps scale 0 (its codes are 0.0)
  int64_t scale_bytes = 4 * nb;
  if (double_quant) {
    // bitsandbytes quantize_4bit(compress_statistics=True): offset = absmax.mean(), then
    // quantize_blockwise(absmax - offset, blocksize=256) with the signed dynamic code.
    const int64_t dq_block = 256;
    const int64_t nb2 = (nb + dq_block - 1) / dq_block;
    const torch::Tensor offset = absmax.mean();
    torch::Tensor centred = torch::zeros({nb2 * dq_block}, w.options());
    centred.narrow(0, 0, nb).copy_(absmax - offset);
    const torch::Tensor c = centred.view({nb2, dq_block});
    const torch::Tensor a2 = c.abs().amax(1, /*keepdim=*/true);  // [nb2, 1]
    const torch::Tensor a2_safe = torch::where(a2 > 0, a2, torch::ones_like(a2));
    const auto& dm = dynamic_map_signed8();
    const torch::Tensor dcode =
        torch::tensor(std::vector<float>(dm.begin(), dm.end()), w.options());
    const torch::Tensor q2 = nearest_code_index((c / a2_safe).contiguous(), dcode);
    deq_absmax = (dcode.index({q2}) * a2_safe).flatten().narrow(0, 0, nb) + offset;
    scale_bytes = nb + 4 * nb2 + 4;  // 8-bit scales, fp32 absmax per 256, fp32 offset
  }
  const torch::Tensor deq = code.index({idx}) * deq_absmax.unsqueeze(1);
  out.codes = idx.flatten().narrow(0, 0, n).view(w.sizes()).to(torch::kInt64);
  out.scales = deq_absmax;
  out.dequantized = deq.flatten().narrow(0, 0, n).view(w.sizes()).contiguous();
  out.bytes = (n + 1) / 2 + scale_bytes;
  return out;
}

double weight_nmse(const torch::Tensor& weight, const torch::Tensor& dequantized) {
  const torch::Tensor w = weight.detach().to(torch::kFloat64);
  const double denom = w.pow(2).sum().item<double>();
  const double num = (w - dequantized.detach().to(torch::kFloat64)).pow(2).sum().item<double>();
  return denom > 0 ? num / denom : 0.0;
}

}  // namespace lethe::quant
