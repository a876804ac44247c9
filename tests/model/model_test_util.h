// Shared helpers for the model tests: the qwen2-tiny fixture model and its reference.json.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json_io.h"
#include "device_test.h"
#include "expect_close.h"
#include "model/causal_lm.h"

namespace lethe::test {

inline const nlohmann::json& tiny_reference() {
  static const nlohmann::json ref = core::read_json(fixture_path("qwen2-tiny/reference.json"));
  return ref;
}

inline std::vector<int64_t> json_ids(const nlohmann::json& j) {
  return j.get<std::vector<int64_t>>();
}

inline torch::Tensor json_tensor(const nlohmann::json& j) {
  std::vector<double> flat;
  std::vector<int64_t> shape;
  if (j.is_array() && !j.empty() && j[0].is_array()) {
    shape = {static_cast<int64_t>(j.size()), static_cast<int64_t>(j[0].size())};
    for (const auto& row : j)
      for (const auto& v : row) flat.push_back(v.get<double>());
  } else {
    shape = {static_cast<int64_t>(j.size())};
    for (const auto& v : j) flat.push_back(v.get<double>());
  }
  return torch::tensor(flat, torch::kFloat64).reshape(shape);
}

inline torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kInt64).unsqueeze(0);
}

inline model::CausalLM load_tiny(torch::ScalarType dtype = torch::kFloat32,
                                 torch::Device device = torch::kCPU) {
  return model::load_causal_lm(fixture_path("qwen2-tiny"), dtype, device);
}

}  // namespace lethe::test
