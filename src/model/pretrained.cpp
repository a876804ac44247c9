// load_pretrained: model + adapter + tokenizer + eos ids from one folder.
#include "model/pretrained.h"

#include <algorithm>

#include "core/error.h"
#include "io/model_path.h"
#include "model/generate.h"
#include "model/lora.h"

namespace lethe::model {

const text::Tokenizer& Pretrained::require_tokenizer(const std::string& why) const {
  LETHE_CHECK(tokenizer.has_value(), folder.string(), ": no tokenizer.json, needed for ", why,
              " (give token ids instead)");
  return *tokenizer;
}

Pretrained load_pretrained(const std::string& model_path_or_id, torch::ScalarType dtype,
                           torch::Device device, const std::string& adapter_dir) {
  Pretrained out;
  out.folder = io::resolve_model_path(model_path_or_id);
  out.model = load_causal_lm(out.folder.string(), dtype, device);
  if (!adapter_dir.empty()) {
    load_adapter(out.model, adapter_dir);
    out.model->to(device);
    out.adapter = adapter_dir;
  }
  out.model->eval();
  if (std::filesystem::exists(out.folder / "tokenizer.json")) {
    out.tokenizer.emplace(text::Tokenizer::load(out.folder));
  }
  out.eos_token_ids = declared_eos_token_ids(out.folder, out.model->config());
  if (out.tokenizer) {
    if (auto eos = out.tokenizer->eos_id()) out.eos_token_ids.push_back(*eos);
    if (auto im_end = out.tokenizer->im_end_id()) out.eos_token_ids.push_back(*im_end);
  }
  std::sort(out.eos_token_ids.begin(), out.eos_token_ids.end());
  out.eos_token_ids.erase(std::unique(out.eos_token_ids.begin(), out.eos_token_ids.end()),
                          out.eos_token_ids.end());
  return out;
}

}  // namespace lethe::model
