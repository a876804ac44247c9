// The --stop-when grammar: precedence, parentheses, every operator, and one-line errors that name
// the position and what is wrong (unknown keys list the valid ones).
#include "train/stop_criterion.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "train/training_eval.h"

namespace lethe {
namespace {

using train::StopCriterion;

const std::vector<std::string>& keys() { return train::training_eval_keys(); }

bool met(const std::string& text, const std::map<std::string, double>& values) {
  return StopCriterion::parse(text, keys()).met(values);
}

// The error message of parsing `text` ("" when it parses).
std::string parse_error(const std::string& text) {
  try {
    StopCriterion::parse(text, keys());
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(StopCriterion, ComparesNamedValuesWithNumbers) {
  const std::map<std::string, double> v = {{"forget_rouge_l", 0.2}, {"retain_rouge_l", 0.9}};
  EXPECT_TRUE(met("forget_rouge_l<=0.2", v));
  EXPECT_FALSE(met("forget_rouge_l<0.2", v));
  EXPECT_TRUE(met("forget_rouge_l >= 0.2", v));
  EXPECT_FALSE(met("forget_rouge_l > 0.2", v));
  EXPECT_TRUE(met("forget_rouge_l == 0.2", v));
  EXPECT_FALSE(met("forget_rouge_l != 0.2", v));
  EXPECT_TRUE(met("retain_rouge_l > 8e-1", v));
  EXPECT_TRUE(met("forget_rouge_l > -1", v));
}

TEST(StopCriterion, AndBindsTighterThanOrAndParenthesesGroup) {
  const std::map<std::string, double> v = {
      {"forget_rouge_l", 0.5}, {"retain_rouge_l", 0.95}, {"step", 10}};
  EXPECT_FALSE(met("forget_rouge_l<=0.2 and retain_rouge_l>=0.9", v));
  EXPECT_TRUE(met("forget_rouge_l<=0.6 and retain_rouge_l>=0.9", v));
  // a or (b and c): true through `a` although `b and c` is false.
  EXPECT_TRUE(met("step>=10 or forget_rouge_l<=0.2 and retain_rouge_l>=0.9", v));
  // (a or b) and c: false because c is.
  EXPECT_FALSE(met("(step>=10 or forget_rouge_l<=0.2) and retain_rouge_l>=0.99", v));
  EXPECT_TRUE(met("(step<5 or forget_rouge_l<=0.5) and (retain_rouge_l>=0.9)", v));
  const auto c =
      StopCriterion::parse("retain_rouge_l>0 and forget_rouge_l<1 or retain_rouge_l<0", keys());
  EXPECT_EQ(c.keys(), (std::vector<std::string>{"retain_rouge_l", "forget_rouge_l"}));
  EXPECT_EQ(c.text(), "retain_rouge_l>0 and forget_rouge_l<1 or retain_rouge_l<0");
}

TEST(StopCriterion, AValueMissingFromTheEvaluationIsAnError) {
  const auto c = StopCriterion::parse("retain_rouge_l>=0.9", keys());
  try {
    c.met({{"forget_rouge_l", 0.1}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "--stop-when: the evaluation has no value for 'retain_rouge_l'");
  }
}

TEST(StopCriterion, SyntaxErrorsNameThePositionAndTheProblem) {
  EXPECT_EQ(parse_error(""),
            "--stop-when: at position 1: expected a key (e.g. forget_rouge_l), got "
            "the end of the text");
  EXPECT_EQ(parse_error("forget_rouge_l<=0.2 and retain_rouge_l>=0.9"), "");
  EXPECT_EQ(parse_error("forget_rouge_l 0.2"),
            "--stop-when: at position 16: expected a comparison (<=, >=, <, >, ==, !=) after "
            "'forget_rouge_l', got '0.2'");
  EXPECT_EQ(parse_error("forget_rouge_l<="),
            "--stop-when: at position 17: expected a number after '<=', got the end of the text");
  EXPECT_EQ(parse_error("forget_rouge_l<=high"),
            "--stop-when: at position 17: expected a number after '<=', got 'high'");
  EXPECT_EQ(parse_error("forget_rouge_l=0.2"),
            "--stop-when: at position 15: '=' is not an operator (use <=, >=, <, >, == or !=)");
  EXPECT_EQ(parse_error("forget_rouge_l<=0.2 and"),
            "--stop-when: at position 24: expected a key (e.g. forget_rouge_l), got the end of the "
            "text");
  EXPECT_EQ(parse_error("forget_rouge_l<=0.2 retain_rouge_l>=0.9"),
            "--stop-when: at position 21: expected 'and', 'or' or the end, got 'retain_rouge_l'");
  EXPECT_EQ(parse_error("forget_rouge_l<=0.2 & retain_rouge_l>=0.9"),
            "--stop-when: at position 21: unexpected character '&'");
  EXPECT_EQ(parse_error("(forget_rouge_l<=0.2"),
            "--stop-when: at position 21: expected ')' to close the '(' at position 1, got the end "
            "of the text");
  EXPECT_EQ(parse_error("forget_rouge_l<=0.2)"),
            "--stop-when: at position 20: ')' without a matching '('");
  EXPECT_EQ(parse_error("forget_rouge_l<=0.2x"),
            "--stop-when: at position 17: '0.2...' is not a number");
}

TEST(StopCriterion, UnknownKeysListTheValidOnes) {
  EXPECT_EQ(parse_error("forget_rouge<=0.2"),
            "--stop-when: unknown key 'forget_rouge' at position 1 (valid: step, forget_rouge_l, "
            "forget_answer_prob, retain_rouge_l, retain_answer_prob)");
  EXPECT_EQ(parse_error("step>=1 and model_utility>0.5"),
            "--stop-when: unknown key 'model_utility' at position 13 (valid: step, forget_rouge_l, "
            "forget_answer_prob, retain_rouge_l, retain_answer_prob)");
}

}  // namespace
}  // namespace lethe
