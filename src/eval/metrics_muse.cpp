// MUSE's metric variants (Shi et al. 2024, swj0419/muse_bench) as registry descriptors:
// muse_rouge (ROUGE-L F1 without stemming, per knowmem / verbmem set) and muse_privleak (its
// PrivLeak of the Min-40% attack, x 100). Enabled by default only on folders imported from MUSE.
#include "eval/benchmark_metrics.h"
#include "eval/metrics.h"
#include "eval/results_schema.h"
#include "eval/roc_auc.h"
#include "eval/rouge.h"

namespace lethe::eval {

namespace {

namespace k = schema;
using I = MetricInput;

bool is_verbmem(const QaEval& e) { return e.id.find("_verbmem_") != std::string::npos; }

}  // namespace

std::string muse_answer_prefix(std::string_view generation) {
  std::string out(generation);
  for (const char* word : {"\n\n", "\nQuestion", "Question:"}) {
    const size_t at = out.find(word);
    if (at != std::string::npos) out.resize(at);
  }
  return out;
}

double muse_rouge_l_f(std::string_view answer, std::string_view prediction) {
  return rouge_l(answer, prediction, /*stem=*/false).fmeasure;
}

double muse_privleak(double auc_unlearned, double auc_retrain) {
  return privleak(auc_unlearned, auc_retrain) * 100.0;
}

MetricDescriptor muse_rouge_metric() {
  MetricDescriptor m{"muse_rouge",
                     "MUSE's ROUGE-L F1 (no stemming) of the greedy generation; knowmem answers "
                     "cut before \\n\\n / Question",
                     {I::kGeneration},
                     true,
                     "MUSE (muse_bench get_rouge_qa.py): rouge_score RougeScorer(['rougeL'], "
                     "use_stemmer=False), mean fmeasure"};
  m.benchmark = "muse";
  m.result_keys = {k::kMuseRougeLF, k::kMuseRougeLFKnowmem, k::kMuseRougeLFVerbmem};
  m.per_example = [](QaEval& e) {
    // MUSE cuts knowmem answers at the next question; verbmem continuations are scored whole.
    e.values[k::kMuseRougeLF] =
        muse_rouge_l_f(e.answer, is_verbmem(e) ? e.generation : muse_answer_prefix(e.generation));
  };
  m.set_value = [](const QaSetView& set, json& out) {
    std::vector<double> all, knowmem, verbmem;
    for (const auto* e : set.items) {
      const double v = e->values.at(k::kMuseRougeLF);
      all.push_back(v);
      (is_verbmem(*e) ? verbmem : knowmem).push_back(v);
    }
    out[k::kMuseRougeLF] = mean_of(all);
    if (!knowmem.empty()) out[k::kMuseRougeLFKnowmem] = mean_of(knowmem);
    if (!verbmem.empty()) out[k::kMuseRougeLFVerbmem] = mean_of(verbmem);
  };
  return m;
}

MetricDescriptor muse_privleak_metric() {
  MetricDescriptor m{"muse_privleak",
                     "MUSE's PrivLeak: (AUC - AUC_retain_model) / AUC_retain_model x 100 of the "
                     "Min-K% (k = --min-k, MUSE: 0.4) attack, forget vs holdout",
                     {I::kAggregates},
                     false,
                     "MUSE eval.py (privleak_auc_key forget_holdout_Min-40%)"};
  m.benchmark = "muse";
  m.result_keys = {k::kMusePrivleak};
  m.needs = {"mia_min_k"};
  m.needs_retain_model = true;
  m.model_value = [](const ModelView& model, json& aggregates) {
    if (!model.reference || model.reference->mia.empty() || model.eval.mia.empty()) return;
    const auto auc = [](const ModelEval& eval) {
      std::vector<double> members, nonmembers;
      for (const auto& x : eval.mia) (x.set == "forget" ? members : nonmembers).push_back(x.min_k);
      return roc_auc(members, nonmembers);
    };
    const double reference_auc = auc(*model.reference);
    aggregates[k::kMusePrivleak] =
        reference_auc > 0 ? json(muse_privleak(auc(model.eval), reference_auc)) : json(nullptr);
  };
  return m;
}

}  // namespace lethe::eval
