// LoRA over a whole CausalLM: attach with PEFT's seeded init, switches, merge, PEFT adapter
// folders.
#include "model/lora.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/memory.h"
#include "model/lora_linear.h"

namespace lethe::model {

namespace {

using Projection = std::pair<std::string, std::shared_ptr<LoraLinearImpl>>;

// "model.layers.3.mlp.up_proj" -> "up_proj"
std::string kind_of(const std::string& prefix) {
  const auto dot = prefix.rfind('.');
  return dot == std::string::npos ? prefix : prefix.substr(dot + 1);
}

int64_t layer_of(const std::string& prefix) {
  const std::string marker = "layers.";
  const auto pos = prefix.find(marker);
  if (pos == std::string::npos) return -1;
  return std::stoll(prefix.substr(pos + marker.size()));
}

int64_t kind_rank(const std::string& kind) {
  const auto& names = lora_target_names();
  return std::find(names.begin(), names.end(), kind) - names.begin();
}

// Projections in PEFT's visiting order: by layer, then q, k, v, o, gate, up, down.
std::vector<Projection> ordered_projections(CausalLM& model) {
  auto projections = model->projections();
  std::stable_sort(projections.begin(), projections.end(),
                   [](const Projection& a, const Projection& b) {
                     const auto la = layer_of(a.first), lb = layer_of(b.first);
                     if (la != lb) return la < lb;
                     return kind_rank(kind_of(a.first)) < kind_rank(kind_of(b.first));
                   });
  return projections;
}

void check_targets(const std::vector<std::string>& targets,
                   const std::vector<Projection>& projections, const std::string& where) {
  LETHE_CHECK(!targets.empty(), where, "LoRA target_modules is empty");
  for (const auto& target : targets) {
    const bool exists =
        std::any_of(projections.begin(), projections.end(),
                    [&](const Projection& p) { return kind_of(p.first) == target; });
    if (!exists) {
      std::string valid;
      for (const auto& name : lora_target_names()) valid += (valid.empty() ? "" : ", ") + name;
      LETHE_FAIL(where, "LoRA target module '", target,
                 "' does not exist in the model (valid: ", valid, ")");
    }
  }
}

bool is_target(const std::vector<std::string>& targets, const std::string& prefix) {
  return std::find(targets.begin(), targets.end(), kind_of(prefix)) != targets.end();
}

LoraOptions to_options(const LoraConfig& config, std::optional<torch::ScalarType> dtype) {
  LoraOptions options;
  options.r = config.r;
  options.lora_alpha = config.lora_alpha;
  options.lora_dropout = config.lora_dropout;
  options.use_rslora = config.use_rslora;
  options.dtype = dtype;
  return options;
}

// Attaches adapters (weights left to the caller) and freezes everything else.
void attach_modules(CausalLM& model, const std::vector<Projection>& projections,
                    const LoraConfig& config, std::optional<torch::ScalarType> dtype) {
  LETHE_CHECK(!has_lora(model), "a LoRA adapter is already attached to the model");
  LETHE_CHECK(config.r > 0, "LoRA r must be positive, got ", config.r);
  LETHE_CHECK(config.lora_alpha > 0.0, "LoRA lora_alpha must be positive, got ", config.lora_alpha);
  for (auto& p : model->parameters()) p.set_requires_grad(false);
  // LoraLinear's own init draws from the global generator; keep it as it was.
  auto global = at::detail::getDefaultCPUGenerator();
  torch::Tensor saved_state;
  {
    std::lock_guard<std::mutex> lock(global.mutex());
    saved_state = global.get_state();
  }
  for (const auto& [prefix, linear] : projections)
    if (is_target(config.target_modules, prefix)) linear->attach_lora(to_options(config, dtype));
  {
    std::lock_guard<std::mutex> lock(global.mutex());
    global.set_state(saved_state);
  }
  for (const auto& [prefix, linear] : projections) {
    if (!linear->has_lora()) continue;
    linear->lora_A.set_requires_grad(true);
    linear->lora_B.set_requires_grad(true);
  }
}

}  // namespace

const std::vector<std::string>& lora_target_names() {
  static const std::vector<std::string> names = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};
  return names;
}

void attach_lora(CausalLM& model, const LoraConfig& config, uint64_t seed,
                 std::optional<torch::ScalarType> dtype) {
  const auto projections = ordered_projections(model);
  check_targets(config.target_modules, projections, "");
  attach_modules(model, projections, config, dtype);
  // PEFT: nn.Linear(in, r) and nn.Linear(r, out) draw their default init, then
  // reset_lora_parameters draws kaiming_uniform_(A, a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)) again
  // and zeroes B.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::NoGradGuard no_grad;
  for (const auto& [prefix, linear] : projections) {
    if (!linear->has_lora()) continue;
    const int64_t r = linear->lora_A.size(0), in = linear->in_features(),
                  out = linear->out_features();
    const double bound_a = 1.0 / std::sqrt(static_cast<double>(in));
    const double bound_b = 1.0 / std::sqrt(static_cast<double>(r));
    torch::Tensor a = torch::empty({r, in}, torch::kFloat32);
    torch::Tensor b = torch::empty({out, r}, torch::kFloat32);
    a.uniform_(-bound_a, bound_a, generator);
    b.uniform_(-bound_b, bound_b, generator);
    a.uniform_(-bound_a, bound_a, generator);
    linear->lora_A.copy_(a);
    linear->lora_B.zero_();
  }
}

void detach_lora(CausalLM& model) {
  for (const auto& [prefix, linear] : model->projections()) linear->detach_lora();
}

bool has_lora(CausalLM& model) {
  for (const auto& [prefix, linear] : model->projections())
    if (linear->has_lora()) return true;
  return false;
}

LoraConfig lora_config(CausalLM& model) {
  LoraConfig config;
  config.target_modules.clear();
  bool found = false;
  for (const auto& [prefix, linear] : ordered_projections(model)) {
    if (!linear->has_lora()) continue;
    const auto& options = linear->lora_options();
    if (!found) {
      config.r = options.r;
      config.lora_alpha = options.lora_alpha;
      config.lora_dropout = options.lora_dropout;
      config.use_rslora = options.use_rslora;
      found = true;
    }
    const std::string kind = kind_of(prefix);
    if (std::find(config.target_modules.begin(), config.target_modules.end(), kind) ==
        config.target_modules.end())
      config.target_modules.push_back(kind);
  }
  LETHE_CHECK(found, "the model has no LoRA adapter attached");
  std::sort(config.target_modules.begin(), config.target_modules.end(),
            [](const std::string& a, const std::string& b) { return kind_rank(a) < kind_rank(b); });
  return config;
}

void set_lora_enabled(CausalLM& model, bool enabled) {
  for (const auto& [prefix, linear] : model->projections())
    if (linear->has_lora()) linear->set_enabled(enabled);
}

LoraDisabledScope::LoraDisabledScope(CausalLM& model) : model_(model) {
  for (const auto& [prefix, linear] : model_->projections()) {
    was_enabled_.push_back(linear->has_lora() && linear->enabled());
    if (linear->has_lora()) linear->set_enabled(false);
  }
}

LoraDisabledScope::~LoraDisabledScope() {
  size_t i = 0;
  for (const auto& [prefix, linear] : model_->projections()) {
    if (i < was_enabled_.size() && was_enabled_[i]) linear->set_enabled(true);
    ++i;
  }
}

LoraMergedScope::LoraMergedScope(CausalLM& model) {
  std::vector<std::shared_ptr<LoraLinearImpl>> adapted;
  double bytes = 0;
  for (const auto& [prefix, linear] : model->projections()) {
    if (!linear->has_lora() || !linear->enabled() || linear->merged()) continue;
    if (linear->weight.scalar_type() != torch::kFloat32 || !linear->weight.device().is_cpu())
      return;
    adapted.push_back(linear);
    bytes += static_cast<double>(linear->weight.nbytes());
  }
  // Twice the copy: the merge's fp32 temporaries (one projection at a time) need room too.
  if (adapted.empty() || 2 * bytes > static_cast<double>(core::available_memory_bytes())) return;
  torch::NoGradGuard no_grad;
  for (const auto& linear : adapted) {
    saved_.emplace_back(linear, linear->weight.clone());
    linear->merge();
  }
}

LoraMergedScope::~LoraMergedScope() {
  torch::NoGradGuard no_grad;
  for (auto& [linear, weight] : saved_) {
    linear->unmerge();  // clears the merged state; the copy then removes its rounding
    linear->weight.copy_(weight);
  }
}

void merge_lora(CausalLM& model) {
  LETHE_CHECK(has_lora(model), "merge: the model has no LoRA adapter attached");
  for (const auto& [prefix, linear] : model->projections())
    if (linear->has_lora()) linear->merge();
}

void unmerge_lora(CausalLM& model) {
  for (const auto& [prefix, linear] : model->projections())
    if (linear->has_lora()) linear->unmerge();
}

void merge_and_unload_lora(CausalLM& model) {
  LETHE_CHECK(has_lora(model), "merge_and_unload: the model has no LoRA adapter attached");
  for (const auto& [prefix, linear] : model->projections())
    LETHE_CHECK(!linear->has_lora() || linear->enabled(), "merge_and_unload: the adapter of ",
                prefix, " is disabled");
  torch::NoGradGuard no_grad;
  for (const auto& [prefix, linear] : model->projections()) {
    if (!linear->has_lora()) continue;
    linear->unmerge();  // so that detach_lora's own unmerge is a no-op
    const torch::Tensor delta = linear->delta_weight();  // [out, in] fp32
    linear->detach_lora();
    linear->weight.copy_(
        (linear->weight.to(torch::kFloat32) + delta).to(linear->weight.scalar_type()));
  }
}

std::vector<std::pair<std::string, torch::Tensor>> lora_parameters(CausalLM& model) {
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& [prefix, linear] : ordered_projections(model)) {
    if (!linear->has_lora()) continue;
    params.emplace_back(prefix + ".lora_A", linear->lora_A);
    params.emplace_back(prefix + ".lora_B", linear->lora_B);
  }
  return params;
}

io::AdapterConfig load_adapter(CausalLM& model, const std::filesystem::path& folder,
                               std::optional<torch::ScalarType> dtype) {
  io::Adapter adapter = io::load_adapter(folder);
  const std::string where = folder.string() + ": ";
  const auto projections = ordered_projections(model);
  check_targets(adapter.config.target_modules, projections, where);
  std::map<std::string, std::shared_ptr<LoraLinearImpl>> by_prefix(projections.begin(),
                                                                   projections.end());
  // Validate everything before touching the model, so a bad folder leaves it unchanged.
  for (const auto& [prefix, weights] : adapter.modules) {
    auto it = by_prefix.find(prefix);
    LETHE_CHECK(it != by_prefix.end(), where, "adapter module '", prefix,
                "' does not exist in the model");
    const auto& linear = it->second;
    const std::vector<int64_t> want_a = {adapter.config.r, linear->in_features()};
    const std::vector<int64_t> want_b = {linear->out_features(), adapter.config.r};
    LETHE_CHECK(weights.lora_A.sizes() == torch::IntArrayRef(want_a), where, prefix,
                ".lora_A has shape ", weights.lora_A.sizes(), " but the model needs ",
                torch::IntArrayRef(want_a));
    LETHE_CHECK(weights.lora_B.sizes() == torch::IntArrayRef(want_b), where, prefix,
                ".lora_B has shape ", weights.lora_B.sizes(), " but the model needs ",
                torch::IntArrayRef(want_b));
  }
  for (const auto& [prefix, linear] : projections)
    LETHE_CHECK(!is_target(adapter.config.target_modules, prefix) || adapter.modules.count(prefix),
                where, "adapter has no weights for targeted module '", prefix, "'");

  LoraConfig config;
  config.r = adapter.config.r;
  config.lora_alpha = adapter.config.lora_alpha;
  config.lora_dropout = adapter.config.lora_dropout;
  config.use_rslora = adapter.config.use_rslora;
  config.target_modules = adapter.config.target_modules;
  detach_lora(model);
  attach_modules(model, projections, config, dtype);
  torch::NoGradGuard no_grad;
  for (const auto& [prefix, weights] : adapter.modules) {
    const auto& linear = by_prefix.at(prefix);
    linear->lora_A.copy_(weights.lora_A);
    linear->lora_B.copy_(weights.lora_B);
  }
  return adapter.config;
}

void save_adapter(CausalLM& model, const std::filesystem::path& folder,
                  const std::string& base_model_name_or_path) {
  const LoraConfig config = lora_config(model);
  io::Adapter adapter;
  adapter.config.base_model_name_or_path = base_model_name_or_path;
  adapter.config.r = config.r;
  adapter.config.lora_alpha = config.lora_alpha;
  adapter.config.lora_dropout = config.lora_dropout;
  adapter.config.use_rslora = config.use_rslora;
  adapter.config.target_modules = config.target_modules;
  for (const auto& [prefix, linear] : ordered_projections(model)) {
    if (!linear->has_lora()) continue;
    adapter.modules[prefix] = {linear->lora_A.detach().to(torch::kCPU).contiguous(),
                               linear->lora_B.detach().to(torch::kCPU).contiguous()};
  }
  io::save_adapter(folder, adapter);
}

}  // namespace lethe::model
