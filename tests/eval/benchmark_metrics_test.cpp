// The benchmarks' own metric variants on hand-derived cases: MUSE's ROUGE (rouge_score without
// stemming, F1, answers cut before the next question), RWKU's ROUGE (the `rouge` package:
// case-sensitive, "."-split sentences, n-grams and LCS words as sets) and MUSE's PrivLeak; the
// descriptors on hand-built records. The default metric set an imported folder gets:
// benchmark_defaults_test.cpp (it needs the evaluator, which the sanitizer build lacks).
#include "eval/benchmark_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/metric_registry.h"
#include "eval/results_schema.h"
#include "eval/rouge.h"
#include "eval/rouge_pltrdy.h"

namespace lethe {
namespace {

using json = nlohmann::json;
namespace k = eval::schema;

TEST(MuseRouge, NoStemmerLowercasedF1) {
  // rouge_score's tokenizer lowercases and drops non-alphanumerics; MUSE turns the stemmer off:
  // "dogs" and "dog" differ (LCS 1 of 2 tokens each: P = R = F = 1/2), where TOFU's stemmed
  // ROUGE matches both tokens.
  EXPECT_DOUBLE_EQ(eval::muse_rouge_l_f("Running dogs", "running dog"), 0.5);
  EXPECT_DOUBLE_EQ(eval::rouge_l("Running dogs", "running dog", /*stem=*/true).fmeasure, 1.0);
  EXPECT_DOUBLE_EQ(eval::muse_rouge_l_f("Hugo Burnand", "hugo burnand!"), 1.0);
  // F1, not recall: answer 1 token, prediction 4 tokens with it: P = 1/4, R = 1, F = 2/5.
  EXPECT_DOUBLE_EQ(eval::muse_rouge_l_f("1472", "It was in 1472"), 0.4);
  EXPECT_DOUBLE_EQ(eval::muse_rouge_l_f("1472", ""), 0.0);
}

TEST(MuseRouge, AnswerIsCutBeforeTheNextQuestion) {
  // get_prefix_before_words_occur(output, ["\n\n", "\nQuestion", "Question:"]).
  EXPECT_EQ(eval::muse_answer_prefix("1472\n\nQuestion: next?"), "1472");
  EXPECT_EQ(eval::muse_answer_prefix("Tattoo\nQuestion: next?"), "Tattoo");
  EXPECT_EQ(eval::muse_answer_prefix("Tattoo Question: next?"), "Tattoo ");
  EXPECT_EQ(eval::muse_answer_prefix("line one\nline two"), "line one\nline two");
}

TEST(RwkuRouge, CaseSensitiveAndPunctuationKept) {
  // Words are split on spaces only: "The" != "the", "Paris," != "Paris".
  // LCS("The cat sat on the mat", "the cat sat") = "cat sat": R = 2/6, P = 2/3.
  const auto s = eval::pltrdy_rouge_l("The cat sat on the mat", "the cat sat");
  EXPECT_DOUBLE_EQ(s.recall, 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(s.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.fmeasure, 2.0 * ((2.0 / 3.0 * 2.0 / 6.0) / (2.0 / 3.0 + 2.0 / 6.0 + 1e-8)));
  EXPECT_DOUBLE_EQ(eval::rouge_l("The cat sat on the mat", "the cat sat").recall, 0.5);
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_l("Paris", "Paris,").recall, 0.0);
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_l("Paris", "Paris").recall, 1.0);
}

TEST(RwkuRouge, NgramsAndLcsWordsCountAsSets) {
  // ref "a a b", hyp "a a": unigram sets {a, b} and {a}: R = 1/2 (rouge_score counts: 2/3).
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_n("a a b", "a a", 1).recall, 0.5);
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_n("a a b", "a a", 1).precision, 1.0);
  EXPECT_DOUBLE_EQ(eval::rouge_n("a a b", "a a", 1).recall, 2.0 / 3.0);
  // The LCS "a a" is the word set {a}: R = 1 / |{a, b}|, P = 1 / |{a}|.
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_l("a a b", "a a").recall, 0.5);
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_l("a a b", "a a").precision, 1.0);
  EXPECT_DOUBLE_EQ(eval::rouge_l("a a b", "a a").recall, 2.0 / 3.0);
}

TEST(RwkuRouge, SentencesSplitOnPeriodsAndLcsUnion) {
  // "Paris. France" vs "France. Paris": per sentence pair the LCS words are {Paris} and {France};
  // their union covers both reference words (R = 1) where the sentence-level LCS is 1 of 2.
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_l("Paris. France", "France. Paris").recall, 1.0);
  EXPECT_DOUBLE_EQ(eval::rouge_l("Paris. France", "France. Paris").recall, 0.5);
  // n-grams run over the concatenated sentences: "a b. c" has the bigram (b, c).
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_n("a b. c", "a b c", 2).recall, 1.0);
  // A piece of only spaces is a sentence with one "" word: "Paris. " has words {Paris, ""}.
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_l("Paris", "Paris. ").precision, 0.5);
  EXPECT_EQ(eval::pltrdy_sentences("a  b.\tc d..e"),
            (std::vector<std::vector<std::string>>{{"a", "b"}, {"c", "d"}, {"e"}}));
  // No sentence at all (the package raises ValueError): every score 0.
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_l("Paris", "...").recall, 0.0);
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_n("", "Paris", 1).precision, 0.0);
}

TEST(RwkuRouge, LcsTieBreakFollowsReconLcs) {
  // _recon_lcs(ref "a b", hyp "b a"): both "a" and "b" are an LCS; at (2, 2) table[1][2] = 1 is
  // not > table[2][1] = 1, so it steps in the hypothesis and keeps "b". With the second
  // hypothesis sentence "a" the union is {a, b}: R = 1 (keeping "a" would give 1/2).
  EXPECT_DOUBLE_EQ(eval::pltrdy_rouge_l("a b", "b a. a").recall, 1.0);
}

TEST(RwkuRouge, PredictionIsTheFirstLineOrNoanswer) {
  EXPECT_EQ(eval::rwku_prediction("  Portland, Maine\nQuestion: next"), "Portland, Maine");
  EXPECT_EQ(eval::rwku_prediction(" \n Portland"), "NOANSWER");
  EXPECT_EQ(eval::rwku_prediction(""), "NOANSWER");
  EXPECT_DOUBLE_EQ(eval::rwku_rouge_l_recall("Tabitha King", "Tabitha King"), 1.0);
  EXPECT_DOUBLE_EQ(eval::rwku_rouge_l_recall("Tabitha King", "NOANSWER"), 0.0);
}

TEST(MusePrivleak, FormulaOnHandComputedAucs) {
  // (AUC_unlearned - AUC_retrain) / AUC_retrain x 100.
  EXPECT_NEAR(eval::muse_privleak(0.6, 0.48), 25.0, 1e-12);
  EXPECT_NEAR(eval::muse_privleak(0.36, 0.48), -25.0, 1e-12);
  EXPECT_THROW(eval::muse_privleak(0.5, 0.0), Error);
}

eval::QaEval qa(const std::string& id, const std::string& answer, const std::string& generation) {
  eval::QaEval e;
  e.id = id;
  e.answer = answer;
  e.generation = generation;
  return e;
}

TEST(BenchmarkMetrics, DescriptorsOnHandBuiltRecords) {
  // muse_rouge: knowmem answers cut before the next question, verbmem scored whole; the set
  // mean and each MUSE set's mean.
  std::vector<eval::QaEval> forget = {qa("muse_knowmem_forget_0000", "1472", "1472\n\nQuestion: x"),
                                      qa("muse_knowmem_forget_0001", "Tattoo", "Euphoria"),
                                      qa("muse_verbmem_forget_0000", "a b c d", "a b")};
  const auto& muse = eval::find_metric("muse_rouge");
  EXPECT_EQ(muse.benchmark, "muse");
  for (auto& e : forget) muse.per_example(e);
  EXPECT_DOUBLE_EQ(forget[0].values.at(k::kMuseRougeLF), 1.0);
  EXPECT_DOUBLE_EQ(forget[2].values.at(k::kMuseRougeLF), 2 * 1.0 * 0.5 / 1.5);  // P 1, R 1/2
  const eval::QaSetView set{
      "forget", {&forget[0], &forget[1], &forget[2]}, eval::TruthRatioMode::kForget, false};
  json out;
  muse.set_value(set, out);
  EXPECT_DOUBLE_EQ(out[k::kMuseRougeLFKnowmem].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(out[k::kMuseRougeLFVerbmem].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(out[k::kMuseRougeLF].get<double>(), (1.0 + 0.0 + 2.0 / 3.0) / 3.0);

  // rwku_rouge: per level.
  std::vector<eval::QaEval> rwku = {qa("rwku_forget_l1_00000", "Portland", "Portland\nmore"),
                                    qa("rwku_forget_l1_00001", "Carrie", "carrie"),
                                    qa("rwku_forget_l3_00000", "Tabitha King", "King")};
  const auto& rw = eval::find_metric("rwku_rouge");
  for (auto& e : rwku) rw.per_example(e);
  const eval::QaSetView rset{
      "forget", {&rwku[0], &rwku[1], &rwku[2]}, eval::TruthRatioMode::kForget, false};
  json rout;
  rw.set_value(rset, rout);
  EXPECT_DOUBLE_EQ(rout[k::kRwkuRougeLRecall].get<double>(), (1.0 + 0.0 + 0.5) / 3.0);
  EXPECT_DOUBLE_EQ(rout["rwku_rouge_l_recall_level1"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(rout["rwku_rouge_l_recall_level3"].get<double>(), 0.5);
  EXPECT_FALSE(rout.contains("rwku_rouge_l_recall_level2"));

  // muse_privleak from the Min-K% scores of the model and the retain-only model.
  // Model: members {-1, -2} vs non-members {-3, -1.5}: 3 of 4 pairs ordered, AUC 0.75.
  // Retain model: members {-2, -3} vs {-1, -2.5}: 1 of 4, AUC 0.25. (0.75 - 0.25) / 0.25 x 100.
  const auto mia = [](double m1, double m2, double n1, double n2) {
    std::vector<eval::MiaEval> out(4);
    const double scores[] = {m1, m2, n1, n2};
    for (size_t i = 0; i < 4; ++i) {
      out[i].set = i < 2 ? "forget" : "holdout";
      out[i].min_k = scores[i];
    }
    return out;
  };
  eval::ModelEval model, reference;
  model.mia = mia(-1, -2, -3, -1.5);
  reference.mia = mia(-2, -3, -1, -2.5);
  const std::set<std::string> enabled = {"muse_privleak", "mia_min_k"};
  json aggregates;
  eval::find_metric("muse_privleak").model_value({model, &reference, enabled}, aggregates);
  EXPECT_NEAR(aggregates[k::kMusePrivleak].get<double>(), 200.0, 1e-12);
  json none;
  eval::find_metric("muse_privleak").model_value({model, nullptr, enabled}, none);
  EXPECT_TRUE(none.is_null() || !none.contains(k::kMusePrivleak));
}

TEST(BenchmarkMetrics, TofuModelUtilityIsTheNineWayHarmonicMean) {
  // retain's three aggregates are 0.5. Real authors (1 question): p = 0.5 against one perturbed
  // p = 0.5 -> normalised 0.5; ROUGE 1; r = 2 -> 1 - 1/2 = 0.5. World facts (2 questions):
  // normalised 0.25 / (0.25 + 0.75) and 0.75 / (0.75 + 0.25) -> 0.5; ROUGE 0 and 1 -> 0.5;
  // r = 4 and 4/3 -> (0.75 + 0.25) / 2 = 0.5. hmean of eight 0.5 and one 1: 9 / (8 * 2 + 1).
  eval::ModelEval model;
  model.retain.resize(1);
  const auto world = [](const std::string& id, double p, double p_wrong, double rouge, double r) {
    eval::QaEval e;
    e.id = id;
    e.answer_nll = -std::log(p);
    e.perturbed_nlls = {-std::log(p_wrong)};
    e.values[k::kRougeLRecall] = rouge;
    e.values[k::kTruthRatio] = r;
    return e;
  };
  model.world = {world("tofu_real_authors_0000", 0.5, 0.5, 1.0, 2.0),
                 world("tofu_world_facts_0000", 0.25, 0.75, 0.0, 4.0),
                 world("tofu_world_facts_0001", 0.75, 0.25, 1.0, 4.0 / 3.0)};
  json aggregates = {
      {k::kRetain, {{k::kAnswerProb, 0.5}, {k::kRougeLRecall, 0.5}, {k::kTruthRatio, 0.5}}}};
  const auto& mu = eval::find_metric("tofu_model_utility");
  EXPECT_EQ(mu.benchmark, "tofu");
  const std::set<std::string> enabled = {"tofu_model_utility"};
  mu.model_value({model, nullptr, enabled}, aggregates);
  EXPECT_NEAR(aggregates[k::kTofuModelUtility].get<double>(), 9.0 / 17.0, 1e-12);
  // Without both TOFU utility files (a lethe world set, ids q_w_...) it is left out.
  model.world.pop_back();
  model.world.pop_back();
  aggregates.erase(k::kTofuModelUtility);
  mu.model_value({model, nullptr, enabled}, aggregates);
  EXPECT_FALSE(aggregates.contains(k::kTofuModelUtility));
}

}  // namespace
}  // namespace lethe
