// generate(): prefill + decode loop over a KV cache (or full recomputation), greedy or seeded
// sampling.
#include "model/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/json_io.h"
#include "model/decoder_model.h"
#include "model/kv_cache.h"

namespace lethe::model {

torch::Tensor apply_sampling_filters(torch::Tensor logits, double temperature, int64_t top_k,
                                     double top_p) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (temperature != 1.0) logits = logits / temperature;
  if (top_k > 0 && top_k < logits.size(-1)) {
    // TopKLogitsWarper: keep entries >= the k-th largest.
    torch::Tensor kth = std::get<0>(logits.topk(top_k, -1)).narrow(-1, top_k - 1, 1);
    logits = logits.masked_fill(logits < kth, neg_inf);
  }
  if (top_p < 1.0) {
    // TopPLogitsWarper: drop the low tail whose cumulative probability is <= 1 - top_p (keep >= 1).
    auto [sorted, order] = logits.sort(-1, /*descending=*/false);
    torch::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
    torch::Tensor remove_sorted = cumulative <= (1.0 - top_p);
    remove_sorted.narrow(-1, logits.size(-1) - 1, 1).fill_(false);
    torch::Tensor remove = remove_sorted.scatter(-1, order, remove_sorted);
    logits = logits.masked_fill(remove, neg_inf);
  }
  return logits;
}

namespace {

void check_options(const GenerateOptions& o) {
  LETHE_CHECK(o.max_new_tokens >= 0, "max_new_tokens must be >= 0, got ", o.max_new_tokens);
  if (!o.do_sample) return;
  LETHE_CHECK(o.temperature > 0.0, "temperature must be > 0 when sampling, got ", o.temperature);
  LETHE_CHECK(o.top_p > 0.0 && o.top_p <= 1.0, "top_p must be in (0, 1], got ", o.top_p);
  LETHE_CHECK(o.top_k >= 0, "top_k must be >= 0, got ", o.top_k);
}

}  // namespace

GenerateResult generate(CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                        const GenerateOptions& options) {
  check_options(options);
  torch::NoGradGuard no_grad;
  const ModelConfig& config = model->config();
  const int64_t B = static_cast<int64_t>(prompts.size());
  GenerateResult result;
  result.tokens.assign(B, {});
  result.stop_reasons.assign(B, "length");
  if (B == 0) return result;
  int64_t longest = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(prompts[b].size());
    LETHE_CHECK(n > 0, "prompt ", b, " is empty");
    LETHE_CHECK(n <= config.max_position_embeddings, "prompt ", b, " has ", n,
                " tokens, more than the model's max_position_embeddings (",
                config.max_position_embeddings, ")");
    longest = std::max(longest, n);
  }
  const int64_t pad = options.pad_token_id >= 0        ? options.pad_token_id
                      : !options.eos_token_ids.empty() ? options.eos_token_ids[0]
                                                       : 0;
  const int64_t steps = std::min(options.max_new_tokens, config.max_position_embeddings - longest);
  if (steps <= 0) return result;

  // Left padding: every row's last prompt token sits in the last column.
  torch::Tensor ids = torch::full({B, longest}, pad, torch::kInt64);
  torch::Tensor mask = torch::zeros({B, longest}, torch::kInt64);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(prompts[b].size());
    ids[b].narrow(0, longest - n, n).copy_(torch::tensor(prompts[b], torch::kInt64));
    mask[b].narrow(0, longest - n, n).fill_(1);
  }
  const torch::Device device = model->decoder()->embed_tokens->weight.device();
  ids = ids.to(device);
  mask = mask.to(device);

  auto eos = torch::tensor(
      options.eos_token_ids.empty() ? std::vector<int64_t>{-1} : options.eos_token_ids,
      torch::kInt64);
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  std::vector<bool> finished(B, false);
  int64_t remaining = B;

  KVCache cache(config.num_hidden_layers, longest + steps);
  ForwardOptions forward_options;
  forward_options.compute_logits = false;
  if (options.use_cache) forward_options.cache = &cache;

  torch::Tensor step_ids = ids, step_mask = mask;
  for (int64_t step = 0; step < steps && remaining > 0; ++step) {
    forward_options.attention_mask = step_mask;
    torch::Tensor hidden = model->forward(step_ids, forward_options).hidden;  // [B, T, C]
    torch::Tensor logits =
        model->lm_head_forward(hidden.select(1, hidden.size(1) - 1)).to(torch::kFloat32);  // [B, V]
    torch::Tensor next;  // [B] on CPU
    if (options.do_sample) {
      torch::Tensor filtered =
          apply_sampling_filters(logits.cpu(), options.temperature, options.top_k, options.top_p);
      next = torch::multinomial(filtered.softmax(-1), 1, false, generator).squeeze(1);
    } else {
      next = logits.argmax(-1).cpu();
    }
    torch::Tensor is_eos = torch::isin(next, eos);
    auto next_a = next.accessor<int64_t, 1>();
    auto eos_a = is_eos.accessor<bool, 1>();
    for (int64_t b = 0; b < B; ++b) {
      if (finished[b]) {
        next_a[b] = pad;
        continue;
      }
      result.tokens[b].push_back(next_a[b]);
      if (eos_a[b]) {
        finished[b] = true;
        result.stop_reasons[b] = "eos";
        --remaining;
      }
    }
    torch::Tensor next_col = next.unsqueeze(1).to(device);  // [B, 1]
    torch::Tensor ones = torch::ones({B, 1}, mask.options());
    if (options.use_cache) {
      step_ids = next_col;
      step_mask = ones;
    } else {
      ids = torch::cat({ids, next_col}, 1);
      mask = torch::cat({mask, ones}, 1);
      step_ids = ids;
      step_mask = mask;
    }
  }
  return result;
}

std::vector<int64_t> declared_eos_token_ids(const std::filesystem::path& folder,
                                            const ModelConfig& config) {
  std::vector<int64_t> out = config.eos_token_id;
  const auto path = folder / "generation_config.json";
  if (std::filesystem::exists(path)) {
    const auto json = core::read_json(path);
    auto it = json.find("eos_token_id");
    if (it != json.end() && it->is_number_integer()) out.push_back(it->get<int64_t>());
    if (it != json.end() && it->is_array()) {
      for (const auto& v : *it) {
        LETHE_CHECK(v.is_number_integer(), path.string(),
                    ": eos_token_id entries must be integers");
        out.push_back(v.get<int64_t>());
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace lethe::model
