// `lethe metrics`: each kind end to end through the built CLI, and its errors for bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "expect_close.h"

namespace lethe {

namespace {
std::string write(const std::filesystem::path& path, const std::string& content) {
  core::write_file_atomic(path, content);
  return path.string();
}
}  // namespace

TEST(MetricsCli, RougeKsTruthRatioMiaHealth) {
  auto dir = std::filesystem::path(test::make_temp_dir("metrics_cli"));
  std::string out;

  auto rouge = write(dir / "rouge.jsonl",
                     "{\"target\": \"running runs ran\", \"prediction\": \"run running\"}\n"
                     "{\"target\": \"a b c d e\", \"prediction\": \"e d c b a\"}\n");
  ASSERT_EQ(test::run_lethe(
                "metrics rouge --jsonl " + rouge + " --out " + (dir / "r.json").string(), &out),
            0)
      << out;
  auto r = core::read_json(dir / "r.json");
  // Per-record values from rouge_score (fixtures/metrics/rouge_cases.jsonl, same two cases).
  EXPECT_NEAR(r["per_example"][0]["rougeL"]["recall"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r["per_example"][1]["rougeL"]["fmeasure"].get<double>(), 0.2, 1e-12);
  EXPECT_NEAR(r["mean"]["rougeL"]["recall"].get<double>(), (2.0 / 3.0 + 0.2) / 2, 1e-12);
  EXPECT_NEAR(r["mean"]["rouge1"]["recall"].get<double>(), (2.0 / 3.0 + 1.0) / 2, 1e-12);

  auto ks = write(dir / "ks.jsonl", "{\"a\": [1, 2, 3], \"b\": [4, 5, 6, 7]}\n");
  ASSERT_EQ(
      test::run_lethe("metrics ks --jsonl " + ks + " --out " + (dir / "k.json").string(), &out), 0)
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
  ASSERT_EQ(test::run_lethe("metrics mia --jsonl " + mia, &out), 0) << out;
  EXPECT_NE(out.find("\"auc\": 0.875"), std::string::npos) << out;  // (1 + 1 + 1 + 0.5) / 4
  ASSERT_EQ(test::run_lethe("metrics mia --lower-is-member --jsonl " + mia, &out), 0) << out;
  EXPECT_NE(out.find("\"auc\": 0.125"), std::string::npos) << out;

  auto gen = write(dir / "gen.jsonl",
                   "{\"generation\": \"the the the the\"}\n{\"generation\": \"a b c\"}\n");
  ASSERT_EQ(
      test::run_lethe(
          "metrics generation_health --jsonl " + gen + " --out " + (dir / "g.json").string(), &out),
      0)
      << out;
  auto g = core::read_json(dir / "g.json");
  EXPECT_NEAR(g["repetition_rate"].get<double>(), (2.0 / 3.0 + 0.0) / 2, 1e-15);
  EXPECT_NEAR(g["distinct_1"].get<double>(), 4.0 / 7.0, 1e-15);
  std::filesystem::remove_all(dir);
}

TEST(MetricsCli, BadInputGivesOneLineErrors) {
  auto dir = std::filesystem::path(test::make_temp_dir("metrics_cli_bad"));
  std::string out;
  auto ok = write(dir / "ok.jsonl", "{\"target\": \"a\", \"prediction\": \"a\"}\n");
  EXPECT_EQ(test::run_lethe("metrics bleu --jsonl " + ok, &out), 2);
  EXPECT_NE(
      out.find("unknown metric 'bleu' (valid: rouge, ks, truth_ratio, mia, generation_health)"),
      std::string::npos)
      << out;

  auto malformed =
      write(dir / "bad.jsonl", "{\"target\": \"a\", \"prediction\": \"a\"}\n{\"target\": \n");
  EXPECT_EQ(test::run_lethe("metrics rouge --jsonl " + malformed, &out), 1);
  EXPECT_NE(out.find("bad.jsonl:2: invalid JSON"), std::string::npos) << out;

  auto missing = write(dir / "missing.jsonl", "{\"a\": [1, 2]}\n");
  EXPECT_EQ(test::run_lethe("metrics ks --jsonl " + missing, &out), 1);
  EXPECT_NE(out.find("missing.jsonl:1: field 'b' missing"), std::string::npos) << out;

  auto wrong_type =
      write(dir / "tr.jsonl", "{\"paraphrased_nll\": 1.0, \"perturbed_nll\": [\"x\"]}\n");
  EXPECT_EQ(test::run_lethe("metrics truth_ratio --jsonl " + wrong_type, &out), 1);
  EXPECT_NE(out.find("tr.jsonl:1: field 'perturbed_nll' must contain only numbers"),
            std::string::npos)
      << out;

  auto one_side = write(dir / "mia.jsonl", "{\"member\": true, \"score\": 1}\n");
  EXPECT_EQ(test::run_lethe("metrics mia --jsonl " + one_side, &out), 1);
  EXPECT_NE(out.find("need at least one member and one non-member"), std::string::npos) << out;

  EXPECT_EQ(test::run_lethe("metrics truth_ratio --mode utility --jsonl " + ok, &out), 2);
  std::filesystem::remove_all(dir);
}

}  // namespace lethe
