// Fuzz entry: adapter_config.json through read_adapter_config, a to_json / parse round trip, and
// load_adapter of a folder holding it beside a fixed small adapter_model.safetensors (r 4,
// q/v_proj).
#pragma once
#include "fuzz_common.h"
#include "io/peft_adapter.h"
#include "io/safetensors.h"

namespace lethe::fuzz {

inline void adapter_config(const uint8_t* data, size_t size) {
  const auto dir = scratch_dir() / "adapter";
  static const bool weights_written = [&] {
    io::StateDict tensors;
    for (const char* module : {"q_proj", "v_proj"}) {
      const std::string prefix = std::string("model.layers.0.self_attn.") + module;
      tensors.emplace(io::peft_key(prefix, "lora_A"), torch::ones({4, 8}));
      tensors.emplace(io::peft_key(prefix, "lora_B"), torch::ones({8, 4}));
    }
    io::write_safetensors(dir / "adapter_model.safetensors", tensors);
    return true;
  }();
  (void)weights_written;
  const auto path = write_scratch("adapter/adapter_config.json", data, size);
  const io::AdapterConfig config = io::read_adapter_config(path);
  LETHE_FUZZ_ASSERT(config.r > 0 && config.lora_alpha > 0, "accepted a non-positive r or alpha");
  const auto j = io::adapter_config_to_json(config);
  const auto back = io::parse_adapter_config(j, "round trip");
  LETHE_FUZZ_ASSERT(io::adapter_config_to_json(back) == j, "to_json/parse round trip differs");
  for (const auto& module : config.target_modules) {
    const auto key = io::parse_peft_key(io::peft_key("model.layers.0." + module, "lora_A"));
    LETHE_FUZZ_ASSERT(module.empty() || module.find('.') != std::string::npos || key,
                      "a target module's key does not parse back");
  }
  const io::Adapter adapter = io::load_adapter(dir);
  LETHE_FUZZ_ASSERT(adapter.modules.size() == 2, "the fixed weights hold two modules");
}

}  // namespace lethe::fuzz
