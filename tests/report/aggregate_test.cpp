// The multi-seed aggregate (report/aggregate.h) on synthetic seed folders whose per-question
// values make every number hand-checkable, and the report written from it.
#include "report/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "eval/truth_ratio.h"
#include "expect_close.h"
#include "report/report_writer.h"
#include "report/summary_table.h"

namespace lethe::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One model's per-question rows: every question of a set gets the same values, except that the
// forget ROUGE-L list may vary by question.
struct Spec {
  std::vector<double> forget_rouge;
  double corr = 1, other = 1, forget_ratio = 1, world_rouge = 1;
};

json rows(const Spec& s) {
  json forget = json::array(), retain = json::array(), world = json::array();
  for (size_t i = 0; i < s.forget_rouge.size(); ++i)
    forget.push_back({{"id", "f" + std::to_string(i)},
                      {"rouge_l_recall", s.forget_rouge[i]},
                      {"truth_ratio", s.forget_ratio}});
  for (int i = 0; i < 3; ++i)
    retain.push_back({{"id", "c" + std::to_string(i)},
                      {"subset", "correlated"},
                      {"rouge_l_recall", s.corr},
                      {"answer_prob", 0.5},
                      {"truth_ratio", 2.0}});
  for (int i = 0; i < 5; ++i)
    retain.push_back({{"id", "o" + std::to_string(i)},
                      {"subset", "other"},
                      {"rouge_l_recall", s.other},
                      {"answer_prob", 0.5},
                      {"truth_ratio", 2.0}});
  for (int i = 0; i < 2; ++i)
    world.push_back({{"id", "w" + std::to_string(i)},
                     {"rouge_l_recall", s.world_rouge},
                     {"answer_nll", 1.0},
                     {"perturbed_nlls", {2.0, 2.0}},
                     {"truth_ratio", 4.0}});
  return {{"forget", forget}, {"retain", retain}, {"world", world}};
}

// A seed folder: fine-tuned, retain-only and grad_ascent / npo at light (1), medium (2), heavy (3)
// epochs; `medium_corr` is the medium models' correlated retain ROUGE-L (other stays 0.7).
fs::path seed_folder(const fs::path& root, const std::string& name, double medium_corr) {
  const fs::path dir = root / name;
  json models = json::object(), configs = json::array();
  models["finetuned"]["per_example"] = rows({{1, 1, 1, 1}, 1, 1, 3.0, 1});
  models["retain_only"] = {{"retain_reference", true},
                           {"per_example", rows({{0, 0, 0, 0}, 1, 1, 0.5, 1})}};
  const std::map<std::string, std::pair<int, Spec>> sweep = {
      {"light", {1, {{0.9, 0.9, 0.9, 0.9}, 0.95, 0.95, 1.0, 1}}},
      {"medium", {2, {{0.5, 0.5, 0.5, 0.5}, medium_corr, 0.7, 0.5, 1}}},
      {"heavy", {3, {{0.0, 0.0, 0.0, 0.0}, 0.1, 0.15, 0.5, 0.5}}}};
  for (const char* method : {"grad_ascent", "npo"})
    for (const auto& [label, spec] : sweep) {
      const std::string model = std::string("unlearn_") + method + "_" + label;
      models[model]["per_example"] = rows(spec.second);
      configs.push_back({{"name", model}, {"method", method}, {"epochs", spec.first}});
    }
  core::write_json(dir / "results" / "eval_results.json", {{"models", models}});
  core::write_json(dir / "results" / "sweep_results.json", {{"configs", configs}});
  return dir;
}

double metric(const json& a, const std::string& model, const std::string& key,
              const char* field = "mean") {
  return a.at("models").at(model).at("metrics").at(key).at(field).get<double>();
}

TEST(Aggregate, ConstantQuestionsGiveExactValuesAndZeroWidth) {
  const fs::path root = test::make_temp_dir("aggregate_one");
  const json a =
      build_aggregate({{42, seed_folder(root, "seed-42", 0.4)}}, default_aggregate_bootstrap());
  EXPECT_EQ(a["seeds"], json::array({42}));
  const std::string m = "unlearn_grad_ascent_medium";
  EXPECT_DOUBLE_EQ(metric(a, m, "retain_correlated_rouge_l"), 0.4);
  EXPECT_DOUBLE_EQ(metric(a, m, "retain_other_rouge_l"), 0.7);
  EXPECT_NEAR(metric(a, m, "retain_gap_rouge_l"), 0.3, 1e-12);
  EXPECT_NEAR(metric(a, m, kDropCorrelated), 0.6, 1e-12);
  EXPECT_NEAR(metric(a, m, kDropOther), 0.3, 1e-12);
  EXPECT_NEAR(metric(a, m, kDropGap), 0.3, 1e-12);
  EXPECT_NEAR(metric(a, m, kDropGap, "lo"), 0.3, 1e-12);
  EXPECT_NEAR(metric(a, m, kDropGap, "hi"), 0.3, 1e-12);
  // Truth ratio: forget min(r, 1/r) with r = 0.5; forget quality: identical samples -> p = 1.
  EXPECT_DOUBLE_EQ(metric(a, m, "forget_truth_ratio"), 0.5);
  EXPECT_DOUBLE_EQ(metric(a, "retain_only", "forget_quality"), 1.0);
  // Model utility: hmean(retain prob 0.5, ROUGE-L (3 * 0.4 + 5 * 0.7) / 8, TR 1 - 1/2, world
  // normalised prob e^-1 / (e^-1 + 2 e^-2), ROUGE-L 1, TR 1 - 1/4).
  const double world_prob = std::exp(-1.0) / (std::exp(-1.0) + 2 * std::exp(-2.0));
  const double mu = eval::model_utility({0.5, (3 * 0.4 + 5 * 0.7) / 8, 0.5, world_prob, 1, 0.75});
  EXPECT_NEAR(metric(a, m, "model_utility"), mu, 1e-12);
  // Pooled over both methods per intensity, and the peak shape.
  ASSERT_EQ(a["intensities"].size(), 3u);
  EXPECT_EQ(a["intensities"][1]["label"], "medium");
  EXPECT_NEAR(a["intensities"][1][kDropGap]["mean"].get<double>(), 0.3, 1e-12);
  EXPECT_EQ(a["shape"]["light"], "light");
  EXPECT_EQ(a["shape"]["heavy"], "heavy");
  // light: 0.05 - 0.05 = 0; heavy: 0.9 - 0.85 = 0.05.
  EXPECT_NEAR(a["shape"]["medium_minus_light"]["mean"].get<double>(), 0.3, 1e-12);
  EXPECT_NEAR(a["shape"]["medium_minus_heavy"]["mean"].get<double>(), 0.25, 1e-12);
  fs::remove_all(root);
}

TEST(Aggregate, VaryingQuestionsGiveAnIntervalAroundTheMean) {
  const fs::path root = test::make_temp_dir("aggregate_vary");
  const fs::path dir = seed_folder(root, "s", 0.4);
  json eval = core::read_json(dir / "results" / "eval_results.json");
  json& forget = eval["models"]["unlearn_npo_heavy"]["per_example"]["forget"];
  const std::vector<double> rouge = {0.0, 1.0, 0.2, 0.6};
  for (size_t i = 0; i < rouge.size(); ++i) forget[i]["rouge_l_recall"] = rouge[i];
  core::write_json(dir / "results" / "eval_results.json", eval);
  const json a = build_aggregate({{1, dir}}, default_aggregate_bootstrap());
  EXPECT_NEAR(metric(a, "unlearn_npo_heavy", "forget_rouge_l"), 0.45, 1e-12);
  EXPECT_LT(metric(a, "unlearn_npo_heavy", "forget_rouge_l", "lo"), 0.45);
  EXPECT_GT(metric(a, "unlearn_npo_heavy", "forget_rouge_l", "hi"), 0.45);
  EXPECT_GE(metric(a, "unlearn_npo_heavy", "forget_rouge_l", "lo"), 0.0);
  // Deterministic: the same folders give the same document.
  EXPECT_EQ(build_aggregate({{1, dir}}, default_aggregate_bootstrap()).dump(), a.dump());
  fs::remove_all(root);
}

TEST(Aggregate, TwoSeedsAverageAndTheirSpreadIsTheInterval) {
  const fs::path root = test::make_temp_dir("aggregate_two");
  const json a = build_aggregate(
      {{7, seed_folder(root, "seed-7", 0.4)}, {8, seed_folder(root, "seed-8", 0.6)}},
      default_aggregate_bootstrap());
  const std::string m = "unlearn_npo_medium";
  // Seed values 0.4 and 0.6; constant within each seed, so the replicates are 0.4, 0.5 or 0.6.
  EXPECT_NEAR(metric(a, m, "retain_correlated_rouge_l"), 0.5, 1e-12);
  EXPECT_NEAR(metric(a, m, "retain_correlated_rouge_l", "lo"), 0.4, 1e-12);
  EXPECT_NEAR(metric(a, m, "retain_correlated_rouge_l", "hi"), 0.6, 1e-12);
  const json& per_seed = a["models"][m]["metrics"]["retain_correlated_rouge_l"]["per_seed"];
  ASSERT_EQ(per_seed.size(), 2u);
  EXPECT_NEAR(per_seed[0].get<double>(), 0.4, 1e-12);
  EXPECT_NEAR(per_seed[1].get<double>(), 0.6, 1e-12);
  EXPECT_EQ(a["models"][m]["metrics"]["retain_correlated_rouge_l"]["n_seeds"], 2);
  // Sign-flip tests at medium: drop gaps 0.3 (seed 7) and 0.1 (seed 8) per method; pooled over
  // seeds x methods: 4 positive differences, p = 2 / 16.
  bool found = false;
  for (const auto& t : a["gap_tests"])
    if (t["intensity"] == "medium" && t["method"] == "all") {
      found = true;
      EXPECT_EQ(t["n"], 4);
      EXPECT_NEAR(t["mean_difference"].get<double>(), 0.2, 1e-12);
      EXPECT_DOUBLE_EQ(t["p_value"].get<double>(), 2.0 / 16);
    } else if (t["intensity"] == "medium" && t["method"] == "npo") {
      EXPECT_EQ(t["n"], 2);
      EXPECT_DOUBLE_EQ(t["p_value"].get<double>(), 0.5);
    }
  EXPECT_TRUE(found);
  // The summary rows carry mean and interval.
  const auto rows = summary_rows_from_aggregate(a);
  const SummaryRow* row = nullptr;
  for (const auto& r : rows)
    if (r.model == m) row = &r;
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(summary_cell(*row, summary_columns()[0]), "0.500 [0.400, 0.600]");
  EXPECT_NE(summary_text(rows).find("95% interval"), std::string::npos);
  fs::remove_all(root);
}

TEST(Aggregate, ASeedWithoutResultsIsAnErrorNamingIt) {
  const fs::path root = test::make_temp_dir("aggregate_missing");
  fs::create_directories(root / "seed-3");
  try {
    build_aggregate({{3, root / "seed-3"}}, default_aggregate_bootstrap());
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("seed-3"), std::string::npos) << e.what();
  }
  fs::remove_all(root);
}

TEST(Aggregate, ReportShowsIntervalsReplicationAndBands) {
  const fs::path root = test::make_temp_dir("aggregate_report");
  const json a = build_aggregate(
      {{7, seed_folder(root, "seed-7", 0.4)}, {8, seed_folder(root, "seed-8", 0.6)}},
      default_aggregate_bootstrap());
  core::write_json(root / "aggregate.json", a);
  const auto out = write_report(root, {});
  const std::string html = core::read_file(out.html), md = core::read_file(out.markdown);
  EXPECT_NE(html.find("0.500 [0.400, 0.600]"), std::string::npos);
  EXPECT_NE(html.find("<h2>Replication</h2>"), std::string::npos);
  EXPECT_NE(md.find("## Replication"), std::string::npos);
  EXPECT_NE(md.find("sign-flip"), std::string::npos);
  // The drop chart's data has the band columns; its script draws filled bands.
  const std::string csv = core::read_file(root / "results" / "retain_drop_ci.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "series,x,y,lo,hi");
  EXPECT_NE(core::read_file(root / "results" / "retain_drop_ci.gp").find("filledcurves"),
            std::string::npos);
  fs::remove_all(root);
}

}  // namespace
}  // namespace lethe::report
