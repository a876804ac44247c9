// Typed readers of the results files (results_schema.h): every lookup tolerates absent keys.
#include "eval/results_schema.h"

namespace lethe::eval::schema {

const json* at(const json& doc, std::initializer_list<std::string_view> path) {
  const json* p = &doc;
  for (const auto key : path) {
    if (!p->is_object()) return nullptr;
    const auto it = p->find(key);
    if (it == p->end()) return nullptr;
    p = &*it;
  }
  return p;
}

std::optional<double> number_at(const json& doc, std::initializer_list<std::string_view> path) {
  const json* p = at(doc, path);
  if (!p || !p->is_number()) return std::nullopt;
  return p->get<double>();
}

std::optional<double> number_at(const json& doc, std::string_view slash_path) {
  const json* p = &doc;
  size_t start = 0;
  while (true) {
    const size_t slash = slash_path.find('/', start);
    const auto key =
        slash_path.substr(start, slash == std::string_view::npos ? slash_path.npos : slash - start);
    p = at(*p, {key});
    if (!p) return std::nullopt;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (!p->is_number()) return std::nullopt;
  return p->get<double>();
}

const json* model_aggregates(const json& eval_results, std::string_view model) {
  return at(eval_results, {kModels, model, kAggregates});
}

std::optional<double> set_metric(const json& aggregates, std::string_view set,
                                 std::string_view key) {
  return number_at(aggregates, {set, key});
}

std::optional<double> model_metric(const json& aggregates, std::string_view key) {
  return number_at(aggregates, {key});
}

std::string recovery_key(std::string_view key) {
  return std::string(kForget) + "_" + std::string(key);
}

std::vector<QuantRecovery> quant_recoveries(const json& quantize_results, std::string_view key) {
  std::vector<QuantRecovery> out;
  const json* models = at(quantize_results, {kModels});
  if (!models || !models->is_object()) return out;
  const std::string recovery = recovery_key(key);
  for (const auto& [model, entry] : models->items()) {
    const json* schemes = at(entry, {kSchemes});
    if (!schemes || !schemes->is_object()) continue;
    for (const auto& [scheme, s] : schemes->items()) {
      const auto before = number_at(s, {kRecovery, recovery, kBefore});
      const auto after = number_at(s, {kRecovery, recovery, kAfter});
      if (!before || !after) continue;
      out.push_back({model, scheme, *before, *after,
                     number_at(s, {kRecovery, recovery, kRecoveredFraction})});
    }
  }
  return out;
}

}  // namespace lethe::eval::schema
