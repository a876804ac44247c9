// ROUGE parity with rouge_score (fixtures/metrics/rouge_cases.jsonl) and the Porter stemmer against
// NLTK.
#include "eval/rouge.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/json_io.h"
#include "eval/porter_stemmer.h"
#include "expect_close.h"
#include "lethe_source_dir.h"

namespace lethe {

TEST(PorterStemmer, MatchesNltkDefaultMode) {
  // Expected stems printed by nltk 3.8 PorterStemmer() (NLTK_EXTENSIONS), Martin Porter's
  // vocabulary plus NLTK's irregular forms and extensions (ies/ied on 4 letters, alli, fulli,
  // logi).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"caresses", "caress"},
      {"ponies", "poni"},
      {"ties", "tie"},
      {"caress", "caress"},
      {"cats", "cat"},
      {"feed", "feed"},
      {"agreed", "agre"},
      {"plastered", "plaster"},
      {"bled", "bled"},
      {"motoring", "motor"},
      {"sing", "sing"},
      {"conflated", "conflat"},
      {"troubled", "troubl"},
      {"sized", "size"},
      {"hopping", "hop"},
      {"tanned", "tan"},
      {"falling", "fall"},
      {"hissing", "hiss"},
      {"fizzed", "fizz"},
      {"failing", "fail"},
      {"filing", "file"},
      {"happy", "happi"},
      {"sky", "sky"},
      {"skies", "sky"},
      {"dying", "die"},
      {"lying", "lie"},
      {"tying", "tie"},
      {"news", "news"},
      {"innings", "inning"},
      {"outings", "outing"},
      {"proceed", "proceed"},
      {"exceed", "exceed"},
      {"succeed", "succeed"},
      {"relational", "relat"},
      {"conditional", "condit"},
      {"rational", "ration"},
      {"valenci", "valenc"},
      {"hesitanci", "hesit"},
      {"digitizer", "digit"},
      {"conformabli", "conform"},
      {"radicalli", "radic"},
      {"differentli", "differ"},
      {"vileli", "vile"},
      {"analogousli", "analog"},
      {"vietnamization", "vietnam"},
      {"predication", "predic"},
      {"operator", "oper"},
      {"feudalism", "feudal"},
      {"decisiveness", "decis"},
      {"hopefulness", "hope"},
      {"callousness", "callous"},
      {"formaliti", "formal"},
      {"sensitiviti", "sensit"},
      {"sensibiliti", "sensibl"},
      {"triplicate", "triplic"},
      {"formative", "form"},
      {"formalize", "formal"},
      {"electriciti", "electr"},
      {"electrical", "electr"},
      {"hopeful", "hope"},
      {"goodness", "good"},
      {"revival", "reviv"},
      {"allowance", "allow"},
      {"inference", "infer"},
      {"airliner", "airlin"},
      {"gyroscopic", "gyroscop"},
      {"adjustable", "adjust"},
      {"defensible", "defens"},
      {"irritant", "irrit"},
      {"replacement", "replac"},
      {"adjustment", "adjust"},
      {"dependent", "depend"},
      {"adoption", "adopt"},
      {"homologou", "homolog"},
      {"communism", "commun"},
      {"activate", "activ"},
      {"angulariti", "angular"},
      {"homologous", "homolog"},
      {"effective", "effect"},
      {"bowdlerize", "bowdler"},
      {"probate", "probat"},
      {"rate", "rate"},
      {"cease", "ceas"},
      {"controll", "control"},
      {"roll", "roll"},
      {"generously", "gener"},
      {"running", "run"},
      {"universite", "universit"},
      {"universit", "universit"},
      {"montreal", "montreal"},
      {"cried", "cri"},
      {"spied", "spi"},
      {"happily", "happili"},
      {"fully", "fulli"},
      {"analogies", "analog"},
      {"generalization", "gener"},
      {"generalizations", "gener"},
      {"oscillators", "oscil"},
      {"knightly", "knightli"},
      {"died", "die"},
      {"lied", "lie"},
      {"owed", "owe"},
      {"dyed", "dy"},
      {"agreement", "agreement"},
      {"at", "at"},
  };
  for (const auto& [word, stem] : cases) EXPECT_EQ(eval::porter_stem(word), stem) << word;
}

TEST(PorterStemmer, MatchesNltkGoldenFile) {
  // 4,600 words stemmed by nltk 3.8 (tests/eval/data); the port also matched NLTK on all 96,537
  // distinct words of the Debian Python docstrings and license texts when it was written.
  std::ifstream in(std::string(LETHE_SOURCE_DIR) + "/tests/eval/data/porter_nltk_3_8.tsv");
  ASSERT_TRUE(in.good());
  std::string line;
  size_t words = 0, mismatches = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    ++words;
    std::string word = line.substr(0, tab), stem = line.substr(tab + 1);
    if (eval::porter_stem(word) != stem && ++mismatches <= 10)
      ADD_FAILURE() << word << ": nltk " << stem << ", lethe " << eval::porter_stem(word);
  }
  EXPECT_GT(words, 4000u);
  EXPECT_EQ(mismatches, 0u);
}

TEST(Rouge, TokenizerFollowsRougeScore) {
  using V = std::vector<std::string>;
  // Runs outside [a-z0-9] split; stemming only for tokens longer than 3 characters.
  EXPECT_EQ(eval::rouge_tokenize("He's RUNNING, fast-ish! (1987)"),
            (V{"he", "s", "run", "fast", "ish", "1987"}));
  EXPECT_EQ(eval::rouge_tokenize("Caresses ponies", false), (V{"caresses", "ponies"}));
  EXPECT_EQ(eval::rouge_tokenize("Université"), (V{"universit"}));
  // Python's str.lower() maps KELVIN SIGN to 'k' and U+0130 to "i" + a combining dot (a separator).
  EXPECT_EQ(eval::rouge_tokenize("\u212Aelvin"), (V{"kelvin"}));
  EXPECT_EQ(eval::rouge_tokenize("x\u0130y"), (V{"xi", "y"}));
  EXPECT_TRUE(eval::rouge_tokenize(" ... !!! ").empty());
}

TEST(Rouge, MatchesRougeScoreFixtures) {
  auto records = core::read_jsonl(test::fixture_path("metrics/rouge_cases.jsonl"));
  ASSERT_EQ(records.size(), 60u);
  std::vector<double> got, want;
  for (const auto& r : records) {
    std::string target = r["target"], prediction = r["prediction"];
    auto l = eval::rouge_l(target, prediction);
    auto one = eval::rouge_n(target, prediction, 1);
    for (auto [score, key] : {std::pair{l, "rougeL"}, std::pair{one, "rouge1"}}) {
      got.insert(got.end(), {score.precision, score.recall, score.fmeasure});
      want.insert(want.end(), {r[key]["precision"].get<double>(), r[key]["recall"].get<double>(),
                               r[key]["fmeasure"].get<double>()});
    }
  }
  EXPECT_CLOSE("rouge (P, R, F of rougeL then rouge1, per case)", got, want, 1e-9);
}

TEST(Rouge, HandComputedLcsAndNgrams) {
  // target "a b c d e", prediction "a c e x": LCS = a c e = 3.
  auto l = eval::rouge_l(std::vector<std::string>{"a", "b", "c", "d", "e"},
                         std::vector<std::string>{"a", "c", "e", "x"});
  EXPECT_DOUBLE_EQ(l.precision, 0.75);
  EXPECT_DOUBLE_EQ(l.recall, 0.6);
  EXPECT_DOUBLE_EQ(l.fmeasure, 2 * 0.75 * 0.6 / 1.35);
  // Clipped counts: target "x x y", prediction "x x x": 1-gram overlap min(2,3) = 2.
  auto one = eval::rouge_n(std::vector<std::string>{"x", "x", "y"},
                           std::vector<std::string>{"x", "x", "x"}, 1);
  EXPECT_DOUBLE_EQ(one.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(one.recall, 2.0 / 3.0);
  auto two = eval::rouge_n(std::vector<std::string>{"x", "x", "y"},
                           std::vector<std::string>{"x", "x", "x"}, 2);
  EXPECT_DOUBLE_EQ(two.precision, 0.5);  // (x x) matches once of the prediction's two
  EXPECT_DOUBLE_EQ(two.recall, 0.5);
}

}  // namespace lethe
