// TOFU's metrics (Maini et al. 2024) as registry descriptors: ROUGE on greedy generations, answer
// probability, truth ratio, forget quality and model utility. The formulas live in rouge.h,
// truth_ratio.h and ks_test.h; this file says what each reads and writes.
#include "eval/ks_test.h"
#include "eval/metrics.h"
#include "eval/results_schema.h"
#include "eval/rouge.h"

namespace lethe::eval {

namespace {

namespace k = schema;
using I = MetricInput;

// The mean over a set of one per-example value.
double set_mean(const QaSetView& set, const std::string& key) {
  std::vector<double> values;
  for (const auto* e : set.items) values.push_back(e->values.at(key));
  return mean_of(values);
}

}  // namespace

MetricDescriptor rouge_l_metric() {
  MetricDescriptor m{"rouge_l",
                     "ROUGE-L recall of the greedy generation against the answer (F also reported)",
                     {I::kGeneration},
                     true,
                     "rouge_score RougeScorer(['rougeL'], use_stemmer=True), as TOFU"};
  m.result_keys = {k::kRougeLRecall, k::kRougeLF};
  m.gap_keys = m.result_keys;
  m.per_example = [](QaEval& e) {
    const auto r = rouge_l(e.answer, e.generation);
    e.values[k::kRougeLRecall] = r.recall;
    e.values[k::kRougeLF] = r.fmeasure;
  };
  m.set_value = [](const QaSetView& set, json& out) {
    out[k::kRougeLRecall] = set_mean(set, k::kRougeLRecall);
    out[k::kRougeLF] = set_mean(set, k::kRougeLF);
  };
  return m;
}

MetricDescriptor rouge_1_metric() {
  MetricDescriptor m{"rouge_1",
                     "ROUGE-1 recall of the greedy generation against the answer",
                     {I::kGeneration},
                     true,
                     "rouge_score RougeScorer(['rouge1'], use_stemmer=True)"};
  m.result_keys = {k::kRouge1Recall};
  m.per_example = [](QaEval& e) {
    e.values[k::kRouge1Recall] = rouge_n(e.answer, e.generation, 1).recall;
  };
  m.set_value = [](const QaSetView& set, json& out) {
    out[k::kRouge1Recall] = set_mean(set, k::kRouge1Recall);
  };
  return m;
}

MetricDescriptor answer_prob_metric() {
  MetricDescriptor m{"answer_prob",
                     "exp(-mean token NLL) of the answer given the question (world set: "
                     "normalised against the perturbed answers)",
                     {I::kAnswerNll},
                     true,
                     "TOFU get_model_utility (Probability)"};
  m.result_keys = {k::kAnswerProb};
  m.gap_keys = m.result_keys;
  m.per_example = [](QaEval& e) { e.values[k::kAnswerProb] = answer_probability(e.answer_nll); };
  m.set_value = [](const QaSetView& set, json& out) {
    std::vector<double> prob;
    // TOFU: world facts / real authors use p(true) / (p(true) + sum_k p(perturbed_k)).
    for (const auto* e : set.items)
      prob.push_back(set.normalized_prob && !e->perturbed_nlls.empty()
                         ? normalized_answer_probability(e->answer_nll, e->perturbed_nlls)
                         : answer_probability(e->answer_nll));
    out[k::kAnswerProb] = mean_of(prob);
  };
  return m;
}

MetricDescriptor truth_ratio_metric() {
  MetricDescriptor m{"truth_ratio",
                     "forget: mean min(r, 1/r); retain: mean max(0, 1 - 1/r); "
                     "r = exp(mean nll(perturbed) - nll(paraphrased))",
                     {I::kPerturbedNll},
                     true,
                     "TOFU get_model_utility (Truth Ratio)"};
  m.result_keys = {k::kTruthRatio};
  m.gap_keys = m.result_keys;
  m.per_example = [](QaEval& e) {
    e.values[k::kTruthRatio] = truth_ratio(e.paraphrased_nll, e.perturbed_nlls);
  };
  m.set_value = [](const QaSetView& set, json& out) {
    std::vector<double> ratios;
    for (const auto* e : set.items) ratios.push_back(e->values.at(k::kTruthRatio));
    out[k::kTruthRatio] = truth_ratio_aggregate(ratios, set.mode);
  };
  return m;
}

MetricDescriptor forget_quality_metric() {
  MetricDescriptor m{"forget_quality",
                     "KS-test p-value between the unlearned and the retain-only model's forget-set "
                     "truth ratios",
                     {I::kTruthRatioSample},
                     true,
                     "TOFU get_forget_quality; scipy.stats.ks_2samp"};
  m.result_keys = {k::kForgetQuality, k::kForgetQualityKs};
  m.needs = {"truth_ratio"};
  m.needs_retain_model = true;
  m.model_value = [](const ModelView& model, json& aggregates) {
    if (!model.reference) return;
    const auto ratios = [](const ModelEval& eval) {
      std::vector<double> out;
      for (const auto& e : eval.forget) out.push_back(e.values.at(k::kTruthRatio));
      return out;
    };
    const auto ks = ks_2samp(ratios(model.eval), ratios(*model.reference));
    aggregates[k::kForgetQuality] = ks.pvalue;
    aggregates[k::kForgetQualityKs] = ks.statistic;
  };
  return m;
}

MetricDescriptor model_utility_metric() {
  MetricDescriptor m{"model_utility",
                     "harmonic mean of answer_prob, rouge_l and truth_ratio on retain and utility "
                     "sets",
                     {I::kAggregates},
                     true,
                     "TOFU get_model_utility (scipy.stats.hmean)"};
  m.result_keys = {k::kModelUtility};
  m.needs = {"rouge_l", "answer_prob", "truth_ratio"};
  m.model_value = [](const ModelView& model, json& aggregates) {
    if (model.eval.retain.empty() || model.eval.world.empty()) return;
    // TOFU's Model Utility: harmonic mean of (prob, ROUGE-L recall, truth ratio) on retain + world.
    std::vector<double> parts;
    for (const char* set : {k::kRetain, k::kWorld})
      for (const char* key : {k::kAnswerProb, k::kRougeLRecall, k::kTruthRatio})
        parts.push_back(aggregates[set][key].get<double>());
    aggregates[k::kModelUtility] = model_utility(parts);
  };
  return m;
}

// TOFU's own Model Utility (aggregate_stat_eval.py get_model_utility): the harmonic mean of 9
// numbers, {Probability, ROUGE, Truth Ratio} on retain, real authors and world facts, each file's
// own mean. A TOFU-imported folder pools the two utility files in its world set, so they are told
// apart by their ids (tofu_real_authors_*, tofu_world_facts_*).
MetricDescriptor tofu_model_utility_metric() {
  MetricDescriptor m{"tofu_model_utility",
                     "TOFU's model utility: harmonic mean of answer_prob, rouge_l recall and "
                     "truth_ratio on retain, real authors and world facts (9 numbers)",
                     {I::kAggregates},
                     true,
                     "TOFU aggregate_stat_eval.py get_model_utility (scipy.stats.hmean of 9)"};
  m.benchmark = "tofu";
  m.result_keys = {k::kTofuModelUtility};
  m.needs = {"rouge_l", "answer_prob", "truth_ratio"};
  m.model_value = [](const ModelView& model, json& aggregates) {
    if (model.eval.retain.empty()) return;
    std::vector<double> parts;
    for (const char* key : {k::kAnswerProb, k::kRougeLRecall, k::kTruthRatio})
      parts.push_back(aggregates[k::kRetain][key].get<double>());
    for (const std::string prefix : {"tofu_real_authors_", "tofu_world_facts_"}) {
      std::vector<double> prob, rouge, ratios;
      for (const auto& e : model.eval.world) {
        if (e.id.rfind(prefix, 0) != 0) continue;
        prob.push_back(e.perturbed_nlls.empty()
                           ? answer_probability(e.answer_nll)
                           : normalized_answer_probability(e.answer_nll, e.perturbed_nlls));
        rouge.push_back(e.values.at(k::kRougeLRecall));
        ratios.push_back(e.values.at(k::kTruthRatio));
      }
      if (prob.empty()) return;  // not a TOFU folder with both utility files
      parts.push_back(mean_of(prob));
      parts.push_back(mean_of(rouge));
      parts.push_back(truth_ratio_aggregate(ratios, TruthRatioMode::kRetain));
    }
    aggregates[k::kTofuModelUtility] = model_utility(parts);
  };
  return m;
}

}  // namespace lethe::eval
