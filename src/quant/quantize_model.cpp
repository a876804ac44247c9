// quantize_model and its helpers: calibration by a hand-run forward, weight snapshots, the LoRA
// delta survival measure.
#include "quant/quantize_model.h"

#include "core/error.h"
#include "model/decoder_model.h"
#include "model/lora.h"
#include "model/lora_linear.h"
#include "model/rotary.h"
#include "quant/scheme.h"

namespace lethe::quant {

using json = nlohmann::json;

json ModelQuantResult::to_json() const {
  json layer_list = json::array();
  for (const auto& l : layers)
    layer_list.push_back({{"name", l.name},
                          {"params", l.params},
                          {"nmse", l.nmse},
                          {"bytes", l.bytes},
                          {"outlier_columns", l.outlier_columns}});
  return {{"scheme", scheme},
          {"quantized_params", quantized_params},
          {"quantized_bytes", quantized_bytes},
          {"other_params", other_params},
          {"total_bytes", total_bytes},
          {"fp16_bytes", fp16_bytes},
          {"compression_vs_fp16", total_bytes > 0 ? double(fp16_bytes) / total_bytes : 0.0},
          {"mean_nmse", mean_nmse},
          {"layers", layer_list}};
}

json DeltaSurvival::to_json() const {
  return {{"delta_norm", delta_norm},
          {"quant_error_norm", quant_error_norm},
          {"delta_to_error", delta_to_error},
          {"mean_delta_to_step", mean_delta_to_step},
          {"survival", survival},
          {"projection", projection},
          {"changed_fraction", changed_fraction}};
}

namespace {

// max over real tokens of |x| per feature: x [B, T, F], mask [B, T] -> [F]
torch::Tensor feature_absmax(const torch::Tensor& x, const torch::Tensor& mask) {
  return (x.to(torch::kFloat32).abs() * mask.unsqueeze(2)).amax({0, 1});
}

}  // namespace

std::map<std::string, torch::Tensor> calibration_input_absmax(model::CausalLM& model,
                                                              const torch::Tensor& ids,
                                                              const torch::Tensor& attention_mask) {
  torch::NoGradGuard no_grad;
  LETHE_CHECK(ids.dim() == 2 && ids.size(1) > 0, "calibration: ids must be [B, T], got ",
              ids.sizes());
  auto decoder = model->decoder();
  const auto& cfg = model->config();
  const torch::Device device = decoder->embed_tokens->weight.device();
  const torch::Tensor tokens = ids.to(device);
  const torch::Tensor mask_long = attention_mask.defined()
                                      ? attention_mask.to(device).to(torch::kInt64)
                                      : torch::ones_like(tokens);
  const torch::Tensor mask = mask_long.to(torch::kFloat32);
  torch::Tensor h = decoder->embed_tokens->forward(tokens);  // [B, T, C]
  const torch::Tensor positions = (mask_long.cumsum(1) - 1).clamp_min(0);
  const torch::Tensor allowed = model::build_attention_mask(mask_long, tokens.size(1));
  auto [cos, sin] =
      model::rope_cos_sin(model::rope_inv_freq(cfg, device), positions, h.scalar_type());
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < decoder->layer_list.size(); ++i) {
    auto& layer = decoder->layer_list[i];
    const std::string prefix = "model.layers." + std::to_string(i) + ".";
    for (const auto& [name, proj] : std::vector<std::pair<std::string, model::LoraLinear>>{
             {"self_attn.q_proj", layer->self_attn->q_proj},
             {"self_attn.o_proj", layer->self_attn->o_proj},
             {"mlp.down_proj", layer->mlp->down_proj}})
      LETHE_CHECK(!proj->has_lora() || proj->merged() || !proj->enabled(), "calibration: ", prefix,
                  name, " has an unmerged LoRA adapter; merge it first");
    const torch::Tensor x1 = layer->input_layernorm->forward(h);  // [B, T, C]
    const torch::Tensor a1 = feature_absmax(x1, mask);
    out[prefix + "self_attn.q_proj"] = a1;
    out[prefix + "self_attn.k_proj"] = a1;
    out[prefix + "self_attn.v_proj"] = a1;
    // o_proj's input: run the attention with o_proj set to the identity (square in Qwen2/Llama).
    auto o = layer->self_attn->o_proj;
    torch::Tensor attn;
    if (o->in_features() == o->out_features()) {
      const torch::Tensor w = o->weight.clone();
      const torch::Tensor b = o->bias.defined() ? o->bias.clone() : torch::Tensor();
      o->weight.copy_(torch::eye(o->in_features(), w.options()));
      if (b.defined()) o->bias.zero_();
      const torch::Tensor ctx = layer->self_attn->forward(x1, cos, sin, allowed, nullptr);
      o->weight.copy_(w);
      if (b.defined()) o->bias.copy_(b);
      out[prefix + "self_attn.o_proj"] = feature_absmax(ctx, mask);
      attn = o->forward(ctx);
    } else {
      attn = layer->self_attn->forward(x1, cos, sin, allowed, nullptr);
      out[prefix + "self_attn.o_proj"] = torch::zeros({o->in_features()});
    }
    const torch::Tensor mid = h + attn;
    const torch::Tensor x2 = layer->post_attention_layernorm->forward(mid);
    const torch::Tensor a2 = feature_absmax(x2, mask);
    out[prefix + "mlp.gate_proj"] = a2;
    out[prefix + "mlp.up_proj"] = a2;
    const torch::Tensor act =
        torch::silu(layer->mlp->gate_proj->forward(x2)) * layer->mlp->up_proj->forward(x2);
    out[prefix + "mlp.down_proj"] = feature_absmax(act, mask);
    h = mid + layer->mlp->down_proj->forward(act);
  }
  return out;
}

std::map<std::string, torch::Tensor> snapshot_projection_weights(model::CausalLM& model) {
  std::map<std::string, torch::Tensor> saved;
  for (const auto& [name, proj] : model->projections()) {
    LETHE_CHECK(!proj->merged(), "snapshot: ", name, " has a merged adapter; unmerge it first");
    saved[name] = proj->weight.detach().clone();
  }
  return saved;
}

void restore_projection_weights(model::CausalLM& model,
                                const std::map<std::string, torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, proj] : model->projections()) {
    const auto it = saved.find(name);
    LETHE_CHECK(it != saved.end(), "restore: no saved weight for ", name);
    if (proj->merged()) proj->unmerge();  // clears the flag; the weight is overwritten next
    proj->weight.copy_(it->second);
  }
}

ModelQuantResult quantize_model(model::CausalLM& model, const std::string& scheme,
                                const std::map<std::string, torch::Tensor>* calibration) {
  const Scheme& s = find_scheme(scheme);
  LETHE_CHECK(!s.needs_calibration || calibration != nullptr, "quantize: scheme ", s.name,
              " needs calibration activations");
  torch::NoGradGuard no_grad;
  if (model::has_lora(model)) model::merge_lora(model);
  ModelQuantResult result;
  result.scheme = s.name;
  double weighted_nmse = 0.0;
  for (const auto& [name, proj] : model->projections()) {
    torch::Tensor absmax;
    if (s.needs_calibration) {
      const auto it = calibration->find(name);
      LETHE_CHECK(it != calibration->end(), "quantize: no calibration activations for ", name);
      absmax = it->second;
    }
    const QuantizedWeight q = quantize_weight(s.name, proj->weight, absmax);
    LayerQuantStats st;
    st.name = name;
    st.params = proj->weight.numel();
    st.nmse = weight_nmse(proj->weight, q.dequantized);
    st.bytes = q.bytes;
    st.outlier_columns = q.outlier_columns.defined() ? q.outlier_columns.numel() : 0;
    proj->weight.copy_(q.dequantized.to(proj->weight.scalar_type()));
    result.quantized_params += st.params;
    result.quantized_bytes += st.bytes;
    weighted_nmse += st.nmse * double(st.params);
    result.layers.push_back(st);
  }
  int64_t all_params = 0;
  for (const auto& p : model->parameters()) all_params += p.numel();
  int64_t lora_params = 0;
  for (const auto& [n, p] : model::lora_parameters(model)) lora_params += p.numel();
  result.other_params = all_params - lora_params - result.quantized_params;
  result.total_bytes = result.quantized_bytes + 2 * result.other_params;
  result.fp16_bytes = 2 * (all_params - lora_params);
  result.mean_nmse = result.quantized_params > 0 ? weighted_nmse / result.quantized_params : 0.0;
  return result;
}

DeltaSurvival lora_delta_survival(const torch::Tensor& weight, const torch::Tensor& delta,
                                  const std::string& scheme) {
  LETHE_CHECK(weight.sizes() == delta.sizes(), "lora_delta_survival: weight ", weight.sizes(),
              " and delta ", delta.sizes(), " differ in shape");
  LETHE_CHECK(!find_scheme(scheme).needs_calibration, "lora_delta_survival: scheme ", scheme,
              " needs calibration activations");
  const torch::Tensor w = weight.detach().to(torch::kFloat64);
  const torch::Tensor d = delta.detach().to(torch::kFloat64);
  const QuantizedWeight base = quantize_weight(scheme, w.to(torch::kFloat32));
  const QuantizedWeight merged = quantize_weight(scheme, (w + d).to(torch::kFloat32));
  const torch::Tensor q_base = base.dequantized.to(torch::kFloat64);
  const torch::Tensor q_merged = merged.dequantized.to(torch::kFloat64);
  const torch::Tensor kept = q_merged - q_base;
  DeltaSurvival out;
  out.delta_norm = d.norm().item<double>();
  const torch::Tensor err = w - q_base;
  out.quant_error_norm = err.norm().item<double>();
  out.delta_to_error = out.quant_error_norm > 0 ? out.delta_norm / out.quant_error_norm : 0.0;
  // Round-to-nearest error is uniform in [-step/2, step/2]: mean |err| = step / 4.
  const double mean_step = 4.0 * err.abs().mean().item<double>();
  out.mean_delta_to_step = mean_step > 0 ? d.abs().mean().item<double>() / mean_step : 0.0;
  const double dd = d.pow(2).sum().item<double>();
  const double kd = (kept * d).sum().item<double>();
  const double kk = kept.pow(2).sum().item<double>();
  out.projection = dd > 0 ? kd / dd : 0.0;
  out.survival = dd > 0 && kk > 0 ? kd / std::sqrt(dd * kk) : 0.0;
  out.changed_fraction = (merged.codes != base.codes).to(torch::kFloat64).mean().item<double>();
  return out;
}

}  // namespace lethe::quant
