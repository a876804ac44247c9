// The forget-eval probes of one forget question, built the same way by both generators:
// paraphrases, prompt attacks, role play, multiple choice, reverse query, in-context passage and
// fill-in-the-blank. The caller supplies the texts that differ between generators.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "data/records.h"

namespace lethe::datagen {

// What the probes of one forget question are made of.
struct ProbeSource {
  std::string qa_id, person_id, question, answer;
  std::string person_name;  // the reverse query's answer
  std::string pronoun;      // "she" | "he": fills a stock persona
  std::vector<std::string> paraphrased_questions;
  std::vector<std::string> wrong_values;  // the first three are the multiple-choice distractors
  // The role-play persona; unset: one of the stock personas, drawn after the prompt attacks.
  std::optional<std::string> role_play;
  std::string reverse_query;  // asks who, given the answer
  std::string passage;        // text about the person, shown before the question
  std::string fill_blank;     // the fact's sentence with its answer replaced by "____"
};

// Appends the probes of `source` to `out`, in the order paraphrase_0.., prefix_injection,
// affirmative_suffix, role_play, multiple_choice, reverse_query, in_context, fill_blank. `rng`
// draws the attack prefix, the suffix, the stock persona (when role_play is unset) and the option
// order, in that order.
void add_forget_probes(const ProbeSource& source, core::Mt19937Rng& rng,
                       std::vector<data::ForgetEvalProbe>& out);

}  // namespace lethe::datagen
