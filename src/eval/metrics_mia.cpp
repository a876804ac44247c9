// Membership inference (forget = members, holdout = non-members) as registry descriptors: the ROC
// AUC of each attack's per-example score (mia.h) and MUSE's PrivLeak against the retain-only model.
#include "eval/metrics.h"
#include "eval/mia.h"
#include "eval/results_schema.h"
#include "eval/roc_auc.h"

namespace lethe::eval {

namespace {

namespace k = schema;
using I = MetricInput;

// aggregates.mia.KEY of each attack and its per-example score (MiaEval).
struct Attack {
  const char* key;
  double MiaEval::*score;
};
const std::vector<Attack>& attacks() {
  static const std::vector<Attack> list = {{"loss", &MiaEval::loss},
                                           {"zlib", &MiaEval::zlib},
                                           {"min_k", &MiaEval::min_k},
                                           {"min_k_plus_plus", &MiaEval::min_k_plus_plus}};
  return list;
}
const Attack& attack(const std::string& key) {
  for (const auto& a : attacks())
    if (a.key == key) return a;
  return attacks().front();
}

double auc(const ModelEval& eval, const Attack& a) {
  std::vector<double> members, nonmembers;
  for (const auto& m : eval.mia) (m.set == "forget" ? members : nonmembers).push_back(m.*(a.score));
  return roc_auc(members, nonmembers);
}

MetricDescriptor attack_metric(const std::string& key, std::string description,
                               std::vector<MetricInput> inputs, std::string source) {
  MetricDescriptor m{"mia_" + key, std::move(description), std::move(inputs), false,
                     std::move(source)};
  m.result_keys = {std::string(k::kMia) + "/" + key + "/" + k::kAuc};
  m.model_value = [key](const ModelView& model, json& aggregates) {
    if (model.eval.mia.empty()) return;
    aggregates[k::kMia][key][k::kAuc] = auc(model.eval, attack(key));
  };
  return m;
}

}  // namespace

MetricDescriptor mia_loss_metric() {
  return attack_metric("loss", "ROC AUC, forget (members) vs holdout, of -mean NLL",
                       {I::kTokenLogprobs}, "Yeom et al. 2018; MUSE");
}

MetricDescriptor mia_zlib_metric() {
  return attack_metric("zlib", "ROC AUC of -mean NLL / zlib-compressed length", {I::kTokenLogprobs},
                       "Carlini et al. 2021; MUSE");
}

MetricDescriptor mia_min_k_metric() {
  return attack_metric("min_k", "ROC AUC of the mean of the lowest k (0.4) token log-probs",
                       {I::kTokenLogprobs}, "Min-K% Prob, Shi et al. 2024");
}

MetricDescriptor mia_min_k_plus_plus_metric() {
  return attack_metric("min_k_plus_plus",
                       "ROC AUC of the mean of the lowest k (0.4) of (log p - mu) / sigma",
                       {I::kTokenLogprobs, I::kLogprobMoments}, "Min-K%++, Zhang et al. 2024");
}

MetricDescriptor privleak_metric() {
  MetricDescriptor m{"privleak",
                     "(AUC_unlearned - AUC_retain_model) / AUC_retain_model of an MIA score",
                     {I::kAggregates},
                     false,
                     "MUSE, Shi et al. 2024"};
  m.result_keys = {std::string(k::kMia) + "/ATTACK/" + k::kPrivleak};
  m.needs = {"mia_loss", "mia_zlib", "mia_min_k", "mia_min_k_plus_plus"};
  m.needs_retain_model = true;
  m.model_value = [](const ModelView& model, json& aggregates) {
    if (!model.reference || model.reference->mia.empty() || !aggregates.contains(k::kMia)) return;
    for (auto& [key, entry] : aggregates[k::kMia].items()) {
      // PrivLeak divides by the retain model's AUC: undefined (null) when that AUC is 0, which
      // small sets can give; the rest of the evaluation still stands.
      const double reference_auc = auc(*model.reference, attack(key));
      entry[k::kPrivleak] = reference_auc > 0
                                ? json(privleak(entry[k::kAuc].get<double>(), reference_auc))
                                : json(nullptr);
    }
  };
  return m;
}

}  // namespace lethe::eval
