// task_vector: the objective that trains the forget-only adapter (SFT on the forget set) and the
// LoRA negation that turns it into the unlearned adapter (task_vector.h).
#include "objectives/task_vector.h"

#include <cmath>
#include <set>

#include "core/error.h"
#include "objectives/methods.h"
#include "objectives/terms.h"

namespace lethe::objectives {
namespace {

// LoRA (Hu et al. 2021): alpha / r; rsLoRA (Kalajdzievski 2023): alpha / sqrt(r).
double scaling_of(const io::AdapterConfig& config) {
  const double r = static_cast<double>(config.r);
  return config.use_rslora ? config.lora_alpha / std::sqrt(r) : config.lora_alpha / r;
}

void check_rank(const io::Adapter& adapter, const std::string& which) {
  LETHE_CHECK(adapter.config.r > 0, "task_vector: the ", which,
              " adapter has r = ", adapter.config.r);
  for (const auto& [prefix, w] : adapter.modules) {
    LETHE_CHECK(w.lora_A.defined() && w.lora_B.defined() && w.lora_A.dim() == 2 &&
                    w.lora_B.dim() == 2 && w.lora_A.size(0) == adapter.config.r &&
                    w.lora_B.size(1) == adapter.config.r,
                "task_vector: the ", which, " adapter's module ", prefix,
                " does not have lora_A [r, in] and lora_B [out, r] with r = ", adapter.config.r);
  }
}

}  // namespace

io::Adapter negate_task_vector(const io::Adapter& finetuned, const io::Adapter& forget,
                               double alpha) {
  LETHE_CHECK(std::isfinite(alpha), "task_vector: alpha must be finite, got ", alpha);
  check_rank(finetuned, "fine-tuned");
  check_rank(forget, "forget-only");
  const int64_t r_ft = finetuned.config.r;
  const int64_t r_f = forget.config.r;
  const double s_ft = scaling_of(finetuned.config);
  const double s_f = scaling_of(forget.config);
  LETHE_CHECK(s_ft != 0, "task_vector: the fine-tuned adapter has lora_alpha 0");

  io::Adapter out;
  out.config = finetuned.config;
  if (out.config.base_model_name_or_path.empty())
    out.config.base_model_name_or_path = forget.config.base_model_name_or_path;
  out.config.r = r_ft + r_f;
  const double r_out = static_cast<double>(out.config.r);
  out.config.lora_alpha = out.config.use_rslora ? s_ft * std::sqrt(r_out) : s_ft * r_out;
  for (const auto& name : forget.config.target_modules) {
    auto& targets = out.config.target_modules;
    if (std::find(targets.begin(), targets.end(), name) == targets.end()) targets.push_back(name);
  }

  std::set<std::string> prefixes;
  for (const auto& [prefix, w] : finetuned.modules) prefixes.insert(prefix);
  for (const auto& [prefix, w] : forget.modules) prefixes.insert(prefix);
  const double b_factor = -alpha * s_f / s_ft;
  for (const auto& prefix : prefixes) {
    auto ft = finetuned.modules.find(prefix);
    auto fg = forget.modules.find(prefix);
    const io::LoraWeights* any = ft != finetuned.modules.end() ? &ft->second : &fg->second;
    const int64_t in = any->lora_A.size(1), out_features = any->lora_B.size(0);
    const auto options = (ft != finetuned.modules.end() ? ft->second : fg->second).lora_A.options();
    if (ft != finetuned.modules.end() && fg != forget.modules.end()) {
      LETHE_CHECK(fg->second.lora_A.size(1) == in && fg->second.lora_B.size(0) == out_features,
                  "task_vector: module ", prefix, " is [", out_features, ", ", in,
                  "] in the fine-tuned adapter but [", fg->second.lora_B.size(0), ", ",
                  fg->second.lora_A.size(1), "] in the forget-only adapter");
    }
    // Zero blocks stand in for a module an adapter does not touch (its delta there is 0).
    auto a_ft =
        ft != finetuned.modules.end() ? ft->second.lora_A : torch::zeros({r_ft, in}, options);
    auto b_ft = ft != finetuned.modules.end() ? ft->second.lora_B
                                              : torch::zeros({out_features, r_ft}, options);
    auto a_f = fg != forget.modules.end() ? fg->second.lora_A : torch::zeros({r_f, in}, options);
    auto b_f =
        fg != forget.modules.end() ? fg->second.lora_B : torch::zeros({out_features, r_f}, options);
    const auto dtype = options.dtype();
    auto b_f_scaled = (b_f.to(b_ft.device(), torch::kFloat) * b_factor).to(dtype);
    io::LoraWeights w;
    w.lora_A = torch::cat({a_ft, a_f.to(a_ft.device(), dtype)}, 0);
    w.lora_B = torch::cat({b_ft, b_f_scaled}, 1);
    out.modules.emplace(prefix, std::move(w));
  }
  return out;
}

torch::Tensor adapter_delta(const io::Adapter& adapter, const std::string& module_prefix) {
  auto it = adapter.modules.find(module_prefix);
  LETHE_CHECK(it != adapter.modules.end(), "adapter has no module ", module_prefix);
  return scaling_of(adapter.config) *
         torch::matmul(it->second.lora_B.to(torch::kFloat), it->second.lora_A.to(torch::kFloat));
}

ObjectiveSpec task_vector_objective() {
  ObjectiveSpec spec;
  spec.name = "task_vector";
  spec.description =
      "task vector: train a forget-only LoRA (SFT), then fine-tuned adapter - alpha * it";
  spec.negates_adapter = true;
  spec.defaults = {{"alpha", 1.0}};
  spec.check = [](const ObjectiveParams& p) { check_non_negative(p, "alpha", "task_vector"); };
  spec.loss = [](const ObjectiveInputs& in, const ObjectiveParams&) {
    check_side(in.forget, "task_vector", "forget");
    ObjectiveOutput out;
    out.loss = mean_token_nll(in.forget, "task_vector", "forget");
    out.parts["loss_forget"] = scalar(out.loss);
    return out;
  };
  return spec;
}

}  // namespace lethe::objectives
