// `lethe metrics`: registry metrics end to end through the built CLI, `lethe metrics list`, and the
// errors for bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "eval/metric_registry.h"
#include "expect_close.h"

namespace lethe {

namespace {
std::string write(const std::filesystem::path& path, const std::string& content) {
  core::write_file_atomic(path, content);
  return path.string();
}
}  // namespace

TEST(MetricsCli, RegistryMetricsByName) {
  auto dir = std::filesystem::path(test::make_temp_dir("metrics_cli"));
  std::string out;

  auto rouge = write(dir / "rouge.jsonl",
                     "{\"target\": \"running runs ran\", \"prediction\": \"run running\"}\n"
                     "{\"target\": \"a b c d e\", \"prediction\": \"e d c b a\"}\n");
  ASSERT_EQ(test::run_lethe(
                "metrics rouge_l --jsonl " + rouge + " --out " + (dir / "r.json").string(), &out),
            0)
      << out;
  auto r = core::read_json(dir / "r.json");
  // Per-record values from rouge_score (fixtures/metrics/rouge_cases.jsonl, same two cases).
  EXPECT_EQ(r["metric"], "rouge_l");
  EXPECT_NEAR(r["per_example"][0]["recall"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r["per_example"][1]["fmeasure"].get<double>(), 0.2, 1e-12);
  EXPECT_NEAR(r["value"].get<double>(), (2.0 / 3.0 + 0.2) / 2, 1e-12);
  ASSERT_EQ(test::run_lethe(
                "metrics rouge_1 --jsonl " + rouge + " --out " + (dir / "r1.json").string(), &out),
            0)
      << out;
  EXPECT_NEAR(core::read_json(dir / "r1.json")["value"].get<double>(), (2.0 / 3.0 + 1.0) / 2,
              1e-12);

  auto ks = write(dir / "ks.jsonl", "{\"a\": [1, 2, 3], \"b\": [4, 5, 6, 7]}\n");
  ASSERT_EQ(
      test::run_lethe(
          "metrics forget_quality --jsonl " + ks + " --out " + (dir / "k.json").string(), &out),
      0)
      << out;
  auto k = core::read_json(dir / "k.json");
  EXPECT_DOUBLE_EQ(k["per_example"][0]["statistic"].get<double>(), 1.0);
  EXPECT_NEAR(k["per_example"][0]["pvalue"].get<double>(), 2.0 / 35.0, 1e-15);

  auto tr = write(dir / "tr.jsonl",
                  "{\"paraphrased_nll\": 1.0, \"perturbed_nll\": [2.0, 3.0]}\n"
                  "{\"paraphrased_nll\": 2.0, \"perturbed_nll\": [1.0]}\n");
  ASSERT_EQ(test::run_lethe("metrics truth-ratio --mode retain --jsonl " + tr + " --out " +
                                (dir / "t.json").string(),
                            &out),
            0)
      << out;
  auto t = core::read_json(dir / "t.json");
  EXPECT_NEAR(t["value"].get<double>(), (1 - std::exp(-1.5)) / 2, 1e-15);
  EXPECT_NEAR(t["truth_ratios"][1].get<double>(), std::exp(-1.0), 1e-15);

  auto mia = write(dir / "mia.jsonl",
                   "{\"member\": true, \"score\": 3}\n{\"member\": true, \"score\": 1}\n"
                   "{\"member\": false, \"score\": 1}\n{\"member\": false, \"score\": 0}\n");
  ASSERT_EQ(test::run_lethe("metrics mia_loss --jsonl " + mia, &out), 0) << out;
  EXPECT_NE(out.find("\"auc\": 0.875"), std::string::npos) << out;  // (1 + 1 + 1 + 0.5) / 4
  ASSERT_EQ(test::run_lethe("metrics mia_loss --lower-is-member --jsonl " + mia, &out), 0) << out;
  EXPECT_NE(out.find("\"auc\": 0.125"), std::string::npos) << out;
  // From token log-probs: LOSS = mean log p (-1.5, -0.5, -2) and Min-K% (k = 0.5: the lowest one).
  auto logp = write(dir / "logp.jsonl",
                    "{\"member\": true, \"logp\": [-1, -2]}\n"
                    "{\"member\": true, \"logp\": [-0.5, -0.5]}\n"
                    "{\"member\": false, \"logp\": [-4, 0]}\n");
  ASSERT_EQ(test::run_lethe(
                "metrics mia_loss --jsonl " + logp + " --out " + (dir / "l.json").string(), &out),
            0)
      << out;
  auto l = core::read_json(dir / "l.json");
  EXPECT_CLOSE("loss scores", l["per_example"].get<std::vector<double>>(),
               std::vector<double>({-1.5, -0.5, -2.0}), 1e-15);
  EXPECT_DOUBLE_EQ(l["auc"].get<double>(), 1.0);
  ASSERT_EQ(test::run_lethe("metrics mia_min_k --min-k 0.5 --jsonl " + logp + " --out " +
                                (dir / "mk.json").string(),
                            &out),
            0)
      << out;
  EXPECT_CLOSE("min_k scores",
               core::read_json(dir / "mk.json")["per_example"].get<std::vector<double>>(),
               std::vector<double>({-2.0, -0.5, -4.0}), 1e-15);

  // Exact memorization and extraction strength from argmax predictions vs labels.
  auto mem = write(dir / "mem.jsonl",
                   "{\"predictions\": [5, 9, 7, 8], \"labels\": [5, 6, 7, 8]}\n"
                   "{\"predictions\": [1, 2], \"labels\": [3, 4]}\n");
  ASSERT_EQ(test::run_lethe("metrics exact_memorization --jsonl " + mem + " --out " +
                                (dir / "em.json").string(),
                            &out),
            0)
      << out;
  auto em = core::read_json(dir / "em.json");
  EXPECT_CLOSE("em", em["per_example"].get<std::vector<double>>(), std::vector<double>({0.75, 0.0}),
               1e-15);
  ASSERT_EQ(test::run_lethe("metrics extraction_strength --jsonl " + mem + " --out " +
                                (dir / "es.json").string(),
                            &out),
            0)
      << out;
  // [1, 0, 1, 1]: the suffix from k = 2 matches, ES = 1 - 2/4; nothing matches: k = n - 1.
  EXPECT_CLOSE("es", core::read_json(dir / "es.json")["per_example"].get<std::vector<double>>(),
               std::vector<double>({0.5, 0.5}), 1e-15);

  auto gen = write(dir / "gen.jsonl",
                   "{\"generation\": \"the the the the\"}\n{\"generation\": \"a b c\"}\n");
  ASSERT_EQ(
      test::run_lethe(
          "metrics repetition_rate --jsonl " + gen + " --out " + (dir / "g.json").string(), &out),
      0)
      << out;
  EXPECT_NEAR(core::read_json(dir / "g.json")["value"].get<double>(), (2.0 / 3.0 + 0.0) / 2, 1e-15);
  ASSERT_EQ(test::run_lethe(
                "metrics distinct_1 --jsonl " + gen + " --out " + (dir / "d.json").string(), &out),
            0)
      << out;
  EXPECT_NEAR(core::read_json(dir / "d.json")["value"].get<double>(), 4.0 / 7.0, 1e-15);
  std::filesystem::remove_all(dir);
}

// The benchmark variants score records with the evaluator's definitions (hand-derived values as in
// benchmark_metrics_test.cpp).
TEST(MetricsCli, BenchmarkVariantsScoreRecords) {
  auto dir = std::filesystem::path(test::make_temp_dir("metrics_cli_bench"));
  std::string out;
  const auto value = [&](const std::string& metric, const std::string& file) {
    EXPECT_EQ(
        test::run_lethe(
            "metrics " + metric + " --jsonl " + file + " --out " + (dir / "r.json").string(), &out),
        0)
        << out;
    return core::read_json(dir / "r.json")["value"].get<double>();
  };
  const auto pairs = write(dir / "pairs.jsonl",
                           "{\"target\": \"Running dogs\", \"prediction\": \"running dog\"}\n"
                           "{\"target\": \"The cat sat on the mat\", \"prediction\": \"the cat "
                           "sat\\nmore\"}\n");
  // MUSE: F1 without stemming, lowercased, the whole prediction (no next question in it): 1/2,
  // and LCS "the cat sat" of 4 and 6 tokens: 2 (3/4 * 1/2) / (3/4 + 1/2) = 0.6.
  EXPECT_NEAR(value("muse_rouge", pairs), (0.5 + 0.6) / 2, 1e-12);
  // RWKU: recall, case-sensitive, first line: 0 ("Running" != "running", "dogs" != "dog") and 2/6.
  EXPECT_NEAR(value("rwku_rouge", pairs), (0.0 + 2.0 / 6.0) / 2, 1e-12);
  const auto aucs = write(dir / "aucs.jsonl", "{\"auc\": 0.6, \"reference_auc\": 0.48}\n");
  EXPECT_NEAR(value("muse_privleak", aucs), 25.0, 1e-12);
  std::filesystem::remove_all(dir);
}

// `lethe metrics list`: one line per registry metric with higher_is_better, inputs and source.
TEST(MetricsCli, ListPrintsTheRegistry) {
  std::string out;
  ASSERT_EQ(test::run_lethe("metrics list", &out), 0) << out;
  EXPECT_NE(out.find("name\thigher_is_better\tinputs\tsource\n"), std::string::npos) << out;
  for (const auto& m : eval::metric_registry())
    EXPECT_NE(out.find(m.name + "\t" + (m.higher_is_better ? "true" : "false") + "\t"),
              std::string::npos)
        << m.name;
  EXPECT_NE(out.find("exact_memorization\ttrue\tanswer_argmax\tTirumala et al. 2022"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("mia_min_k_plus_plus\tfalse\ttoken_logprobs,logprob_moments\t"),
            std::string::npos)
      << out;
}

TEST(MetricsCli, BadInputGivesOneLineErrors) {
  auto dir = std::filesystem::path(test::make_temp_dir("metrics_cli_bad"));
  std::string out;
  auto ok = write(dir / "ok.jsonl", "{\"target\": \"a\", \"prediction\": \"a\"}\n");
  EXPECT_EQ(test::run_lethe("metrics bleu --jsonl " + ok, &out), 2);
  EXPECT_NE(out.find("unknown metric 'bleu' (valid: list, rouge_l, rouge_1, answer_prob"),
            std::string::npos)
      << out;
  EXPECT_EQ(test::run_lethe("metrics rouge_l", &out), 2);
  EXPECT_NE(out.find("metrics rouge_l: --jsonl FILE is required"), std::string::npos) << out;

  auto malformed =
      write(dir / "bad.jsonl", "{\"target\": \"a\", \"prediction\": \"a\"}\n{\"target\": \n");
  EXPECT_EQ(test::run_lethe("metrics rouge_l --jsonl " + malformed, &out), 1);
  EXPECT_NE(out.find("bad.jsonl:2: invalid JSON"), std::string::npos) << out;

  auto missing = write(dir / "missing.jsonl", "{\"a\": [1, 2]}\n");
  EXPECT_EQ(test::run_lethe("metrics forget_quality --jsonl " + missing, &out), 1);
  EXPECT_NE(out.find("missing.jsonl:1: field 'b' missing"), std::string::npos) << out;

  auto wrong_type =
      write(dir / "tr.jsonl", "{\"paraphrased_nll\": 1.0, \"perturbed_nll\": [\"x\"]}\n");
  EXPECT_EQ(test::run_lethe("metrics truth_ratio --jsonl " + wrong_type, &out), 1);
  EXPECT_NE(out.find("tr.jsonl:1: field 'perturbed_nll' must contain only numbers"),
            std::string::npos)
      << out;

  auto one_side = write(dir / "mia.jsonl", "{\"member\": true, \"score\": 1}\n");
  EXPECT_EQ(test::run_lethe("metrics mia_zlib --jsonl " + one_side, &out), 1);
  EXPECT_NE(out.find("need at least one member and one non-member"), std::string::npos) << out;

  EXPECT_EQ(test::run_lethe("metrics truth_ratio --mode utility --jsonl " + ok, &out), 2);
  auto uneven = write(dir / "mem.jsonl", "{\"predictions\": [1, 2], \"labels\": [1]}\n");
  EXPECT_EQ(test::run_lethe("metrics exact_memorization --jsonl " + uneven, &out), 1);
  EXPECT_NE(out.find("mem.jsonl:1: 'predictions' has 2 entries but 'labels' has 1"),
            std::string::npos)
      << out;
  std::filesystem::remove_all(dir);
}

}  // namespace lethe
