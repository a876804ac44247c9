// Device-parametrised tests (CTranslate2's habit): one test body runs on the CPU always and on CUDA
// when libtorch sees a GPU, each device with its own tolerance. Test names end in /cpu or /cuda, so
// `--gtest_filter='*/cuda'` runs the GPU cases alone (scripts/gpu-check.sh).
#pragma once
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace lethe::test {

// CPU, and CUDA (device 0) when libtorch has a usable GPU.
inline std::vector<torch::Device> test_devices() {
  std::vector<torch::Device> out{torch::kCPU};
  if (torch::cuda::is_available()) out.emplace_back(torch::kCUDA, 0);
  return out;
}

inline std::string device_case_name(const ::testing::TestParamInfo<torch::Device>& info) {
  return info.param.is_cuda() ? "cuda" : "cpu";
}

// Base fixture of a device-parametrised suite: device() is the parameter; tolerance() picks the
// CPU or the CUDA bound (cuBLAS sums in another order, and may use TF32 or split-K reductions).
class OnDevice : public ::testing::TestWithParam<torch::Device> {
 protected:
  torch::Device device() const { return GetParam(); }
  double tolerance(double cpu, double cuda) const { return device().is_cuda() ? cuda : cpu; }
  torch::TensorOptions f32() const { return torch::TensorOptions(torch::kFloat32).device(device()); }
  // Seeded CPU draws moved to the device, so both devices see the same inputs.
  torch::Tensor randn(at::IntArrayRef shape) const { return torch::randn(shape).to(device()); }
};

}  // namespace lethe::test

// Instantiates a suite derived from OnDevice for every device of test_devices().
#define LETHE_DEVICE_SUITE(Suite)                                                        \
  INSTANTIATE_TEST_SUITE_P(Devices, Suite, ::testing::ValuesIn(::lethe::test::test_devices()), \
                           ::lethe::test::device_case_name)
