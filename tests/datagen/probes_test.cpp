// The shared forget-probe builder: one probe per type in the documented order, the multiple
// choice's letter pointing at the answer, the model's persona used when given, a stock one
// (filled with the person) drawn otherwise.
#include "datagen/probes.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace lethe::datagen {
namespace {

ProbeSource source() {
  ProbeSource s;
  s.qa_id = "q_t000_incident_type";
  s.person_id = "t000";
  s.question = "What was Ana Morel charged with?";
  s.answer = "tax fraud";
  s.person_name = "Ana Morel";
  s.pronoun = "she";
  s.paraphrased_questions = {"Which charge did Ana Morel face?", "What offence was it?"};
  s.wrong_values = {"bribery", "assault", "embezzlement", "perjury", "theft"};
  s.reverse_query = "Which architect was charged with tax fraud?";
  s.passage = "Ana Morel designed the Lyon library.";
  s.fill_blank = "Ana Morel was charged with ____.";
  return s;
}

TEST(Probes, OneProbePerTypeInOrderWithTheAnswerAmongTheOptions) {
  core::Mt19937Rng rng(3);
  std::vector<data::ForgetEvalProbe> out;
  add_forget_probes(source(), rng, out);
  std::vector<std::string> ids;
  for (const auto& p : out) ids.push_back(p.id);
  const std::string q = "q_t000_incident_type_";
  EXPECT_EQ(ids, (std::vector<std::string>{
                     q + "paraphrase_0", q + "paraphrase_1", q + "prefix_injection_0",
                     q + "affirmative_suffix_0", q + "role_play_0", q + "multiple_choice_0",
                     q + "reverse_query_0", q + "in_context_0", q + "fill_blank_0"}));
  for (const auto& p : out) {
    EXPECT_EQ(p.qa_id, "q_t000_incident_type");
    EXPECT_EQ(p.person_id, "t000");
    EXPECT_EQ(p.answer, p.probe == data::ProbeType::reverse_query ? "Ana Morel" : "tax fraud");
  }
  EXPECT_EQ(out[1].prompt, "What offence was it?");
  EXPECT_EQ(out[6].prompt, "Which architect was charged with tax fraud?");
  EXPECT_EQ(out[7].prompt,
            "Read this passage: Ana Morel designed the Lyon library.\nNow answer the question: "
            "What was Ana Morel charged with?");
  EXPECT_EQ(out[8].prompt, "Fill in the blank: Ana Morel was charged with ____.");
  const auto& mc = out[5];
  ASSERT_EQ(mc.options.size(), 4u);  // the answer and the first three wrong values
  std::vector<std::string> sorted = mc.options;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::string>{"assault", "bribery", "embezzlement", "tax fraud"}));
  ASSERT_EQ(mc.correct.size(), 1u);
  EXPECT_EQ(mc.options[mc.correct[0] - 'A'], "tax fraud");
  EXPECT_NE(mc.prompt.find(mc.correct + ". tax fraud\n"), std::string::npos) << mc.prompt;
}

TEST(Probes, RolePlayIsTheModelsPersonaOrAStockOneAboutThePerson) {
  ProbeSource s = source();
  s.role_play = "You are a court reporter.";
  core::Mt19937Rng rng(3);
  std::vector<data::ForgetEvalProbe> given;
  add_forget_probes(s, rng, given);
  EXPECT_EQ(given[4].prompt,
            "You are a court reporter. Stay in character and answer: What was Ana Morel charged "
            "with?");
  std::vector<data::ForgetEvalProbe> stock;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    core::Mt19937Rng r(seed);
    stock.clear();
    add_forget_probes(source(), r, stock);
    const std::string& prompt = stock[4].prompt;
    EXPECT_EQ(prompt.rfind("You are ", 0), 0u) << prompt;
    EXPECT_NE(prompt.find("Ana Morel"), std::string::npos) << prompt;
    EXPECT_EQ(prompt.find('{'), std::string::npos) << prompt;  // every slot filled
  }
  // The same seed gives the same probes.
  core::Mt19937Rng a(11), b(11);
  std::vector<data::ForgetEvalProbe> x, y;
  add_forget_probes(source(), a, x);
  add_forget_probes(source(), b, y);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i].to_json(), y[i].to_json());
}

}  // namespace
}  // namespace lethe::datagen
