// The formulas of MUSE's and RWKU's own metric variants (metrics_muse.cpp, metrics_rwku.cpp hold
// their registry descriptors): what each benchmark does to a generation before scoring it, and
// MUSE's PrivLeak.
#pragma once
#include <string>
#include <string_view>

namespace lethe::eval {

// MUSE knowmem (muse_bench get_rouge_qa.py, get_prefix_before_words_occur): the generation cut
// before the first "\n\n", then "\nQuestion", then "Question:".
std::string muse_answer_prefix(std::string_view generation);

// MUSE's ROUGE: rouge_score RougeScorer(['rougeL'], use_stemmer=False).score(answer, prediction)
// .fmeasure (MUSE reports the mean x 100; lethe keeps [0, 1]).
double muse_rouge_l_f(std::string_view answer, std::string_view prediction);

// MUSE eval.py: PrivLeak = (AUC_unlearned - AUC_retrain) / AUC_retrain x 100, AUC of the
// Min-40% Prob score, forget (members) vs holdout (non-members). auc_retrain must be > 0.
double muse_privleak(double auc_unlearned, double auc_retrain);

// RWKU (eval_forget.py, generate_completions with "\n" as a stop sequence): the generation up to
// its first newline, stripped; "NOANSWER" when that is empty.
std::string rwku_prediction(std::string_view generation);

// RWKU's ROUGE: rouge.Rouge().get_scores(hyps=[prediction], refs=[answer])['rouge-l']['r']
// (rouge_pltrdy.h).
double rwku_rouge_l_recall(std::string_view answer, std::string_view prediction);

}  // namespace lethe::eval
