// The reference pass of the training loop: token log-probs of every example before the first
// update (split across data-parallel ranks), their cache file, and the reference's hidden states.
#include "train/reference_cache.h"

#include <optional>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/lora.h"
#include "train/distributed.h"

namespace lethe::train {

namespace fs = std::filesystem;

namespace {

// Token log-probs of every example of one side, no grad, in unshuffled batches. With a process
// group each rank scores its share of the examples and one all-reduce assembles them.
std::vector<torch::Tensor> reference_logprobs(model::CausalLM& model,
                                              const std::vector<data::Example>& examples,
                                              int64_t batch_size, int64_t pad_id,
                                              ProcessGroup* group) {
  if (group && group->world_size() > 1) {
    const auto [begin, end] =
        rank_slice(static_cast<int64_t>(examples.size()), group->rank(), group->world_size());
    const std::vector<data::Example> mine(examples.begin() + begin, examples.begin() + end);
    const auto scored = mine.empty() ? std::vector<torch::Tensor>()
                                     : reference_logprobs(model, mine, batch_size, pad_id, nullptr);
    std::vector<int64_t> offsets = {0};
    for (const auto& e : examples) offsets.push_back(offsets.back() + e.length());
    std::vector<torch::Tensor> flat = {torch::zeros({offsets.back()}, torch::kFloat32)};
    for (int64_t i = begin; i < end; ++i)
      flat[0].narrow(0, offsets[i], examples[i].length()).copy_(scored[i - begin]);
    group->all_reduce_sum(flat);
    std::vector<torch::Tensor> result;
    for (size_t i = 0; i < examples.size(); ++i)
      result.push_back(flat[0].narrow(0, offsets[i], examples[i].length()).clone());
    return result;
  }
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> result(examples.size());
  std::vector<int64_t> lengths;
  for (const auto& e : examples) lengths.push_back(e.length());
  data::BatchPlanOptions plan_options;
  plan_options.batch_size = batch_size;
  plan_options.shuffle = false;
  for (const auto& indices : data::plan_epoch(lengths, plan_options, 0, 0)) {
    auto batch = data::collate(examples, indices, pad_id);
    const auto device = model->parameters().front().device();
    auto logp = model::token_logprobs(model, batch.ids.to(device), batch.attention_mask.to(device),
                                      batch.loss_mask.to(device))
                    .to(torch::kCPU);  // [B, T]
    for (size_t b = 0; b < indices.size(); ++b)
      result[indices[b]] = logp[b].narrow(0, 0, examples[indices[b]].length()).clone();
  }
  return result;
}

// The stored form of a side: its examples' log-probs concatenated ([sum len_i]), cut back apart.
void unpack_side(const io::StateDict& stored, const char* side,
                 const std::vector<data::Example>& examples, const fs::path& path,
                 std::vector<torch::Tensor>& into) {
  if (!stored.count(side)) return;
  const auto& flat = stored.at(side);
  int64_t offset = 0;
  for (const auto& e : examples) {
    LETHE_CHECK(offset + e.length() <= flat.size(0), "cannot resume: ", path.string(),
                " does not match the data");
    into.push_back(flat.narrow(0, offset, e.length()).clone());
    offset += e.length();
  }
}

void swap_params(const NamedParameters& params, std::map<std::string, torch::Tensor>& other) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params) {
    auto& stored = other.at(name);
    torch::Tensor current = p.detach().clone();
    p.copy_(stored);
    stored = current;
  }
}

}  // namespace

ReferenceCache load_or_compute_reference(model::CausalLM& model, const TrainData& data,
                                         const NamedParameters& trainable,
                                         const ReferenceNeeds& needs, ReferenceModel reference,
                                         int64_t batch_size, const fs::path& path, bool resuming,
                                         bool write, ProcessGroup* group) {
  ReferenceCache cache;
  if (!needs.any()) return cache;
  if (resuming && fs::exists(path)) {
    const auto stored = io::load_safetensors(path);
    unpack_side(stored, "forget", data.forget, path, cache.forget);
    unpack_side(stored, "retain", data.retain, path, cache.retain);
    unpack_side(stored, "preferred", data.preferred, path, cache.preferred);
    for (const auto& [name, p] : trainable)
      if (stored.count("initial." + name))
        cache.initial[name] = stored.at("initial." + name).to(p.device());
    return cache;
  }
  LETHE_CHECK(!resuming, "cannot resume: ", path.string(), " is missing");
  io::StateDict to_store;
  if (needs.logprobs) {
    model->eval();
    std::optional<model::LoraDisabledScope> disabled;
    if (reference == ReferenceModel::adapter_disabled) disabled.emplace(model);
    auto pack = [&](const char* side, const std::vector<data::Example>& examples,
                    std::vector<torch::Tensor>& into) {
      into = reference_logprobs(model, examples, batch_size, data.pad_id, group);
      to_store[side] = torch::cat(into);
    };
    pack("forget", data.forget, cache.forget);
    if (needs.retain) pack("retain", data.retain, cache.retain);
    if (needs.preferred) pack("preferred", data.preferred, cache.preferred);
  }
  if (needs.initial_weights) {
    for (const auto& [name, p] : trainable) {
      cache.initial[name] = p.detach().clone();
      to_store["initial." + name] = cache.initial[name];
    }
  }
  if (write) io::write_safetensors(path, to_store);
  return cache;
}

torch::Tensor gather_reference(const std::vector<torch::Tensor>& side, const data::Batch& batch) {
  torch::Tensor out = torch::zeros(batch.ids.sizes(), torch::kFloat32);
  for (int64_t b = 0; b < batch.size(); ++b) {
    const auto& row = side.at(batch.indices[b]);
    out[b].narrow(0, 0, row.size(0)).copy_(row);
  }
  return out;
}

std::vector<torch::Tensor> reference_hidden_states(model::CausalLM& model, const data::Batch& batch,
                                                   ReferenceModel reference,
                                                   const NamedParameters& trainable,
                                                   ReferenceCache& cache) {
  torch::NoGradGuard no_grad;
  model->eval();
  const auto device = model->parameters().front().device();
  model::ForwardOptions forward;
  forward.attention_mask = batch.attention_mask.to(device);
  forward.output_hidden_states = true;
  forward.compute_logits = false;
  std::vector<torch::Tensor> hidden;
  if (reference == ReferenceModel::adapter_disabled) {
    model::LoraDisabledScope disabled(model);
    hidden = model->forward(batch.ids.to(device), forward).hidden_states;
  } else {
    swap_params(trainable, cache.initial);
    hidden = model->forward(batch.ids.to(device), forward).hidden_states;
    swap_params(trainable, cache.initial);
  }
  model->train();
  return hidden;
}

}  // namespace lethe::train
