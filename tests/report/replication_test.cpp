// The replication claims' decision rules (report/replication.h) on synthetic aggregates: every
// verdict of every claim is reached from the numbers alone.
#include "report/replication.h"

#include <gtest/gtest.h>

#include <cmath>

#include "report/aggregate.h"

namespace lethe::report {
namespace {

using nlohmann::json;

json q(double mean, double lo, double hi, int n_seeds = 3,
       const char* resampled = "questions and seeds") {
  return {{"mean", mean}, {"lo", lo}, {"hi", hi}, {"n_seeds", n_seeds}, {"resampled", resampled}};
}

// An aggregate with the given medium gap, peak differences, heavy GA/NPO retain levels, middle
// drift and nf4 recovery.
json aggregate(json medium_gap, json minus_light, json minus_heavy, json heavy_level, json drift,
               json recovery) {
  json a;
  a["seeds"] = {1, 2, 3};
  a["intensities"] = json::array({{{"label", "light"}, {kDropGap, q(0, -0.1, 0.1)}},
                                  {{"label", "medium"}, {kDropGap, medium_gap}},
                                  {{"label", "heavy"}, {kDropGap, q(0, -0.1, 0.1)}}});
  a["shape"] = {{"light", "light"},
                {"medium", "medium"},
                {"heavy", "heavy"},
                {"medium_minus_light", minus_light},
                {"medium_minus_heavy", minus_heavy}};
  for (const char* method : {"grad_ascent", "npo"}) {
    a["models"][std::string("unlearn_") + method + "_heavy"] = {
        {"method", method},
        {"intensity", "heavy"},
        {"metrics",
         {{"retain_correlated_rouge_l", heavy_level},
          {"retain_other_rouge_l", heavy_level},
          {kDropGap, q(0, -1, 1)}}}};
    a["models"][std::string("unlearn_") + method + "_medium"] = {
        {"method", method}, {"intensity", "medium"}, {"metrics", {{kDropGap, medium_gap}}}};
  }
  a["seed_level"] = {
      {"middle_layer", 6},
      {"num_layers", 12},
      {"heavy_middle_layer_drift", drift},
      {"quant_recovered_fraction", {{"int8", q(0, -0.01, 0.01, 3, "seeds")}, {"nf4", recovery}}}};
  return a;
}

std::map<std::string, Verdict> verdicts(const json& a) {
  std::map<std::string, Verdict> out;
  for (const auto& c : replication_claims(a)) out[c.id] = c.verdict;
  return out;
}

TEST(Replication, DecideByWhereTheIntervalLies) {
  const eval::Interval above{0.2, 0.1, 0.3}, below{-0.2, -0.3, -0.1}, across{0.0, -0.1, 0.1};
  EXPECT_EQ(decide(above, 0.0, Claimed::kAbove), Verdict::kReproduced);
  EXPECT_EQ(decide(below, 0.0, Claimed::kAbove), Verdict::kNotReproduced);
  EXPECT_EQ(decide(across, 0.0, Claimed::kAbove), Verdict::kInconclusive);
  EXPECT_EQ(decide(below, 0.0, Claimed::kBelow), Verdict::kReproduced);
  EXPECT_EQ(decide(above, 0.0, Claimed::kBelow), Verdict::kNotReproduced);
  EXPECT_EQ(decide(eval::Interval{0.5, NAN, NAN}, 0.0, Claimed::kAbove), Verdict::kInconclusive);
  EXPECT_EQ(combine({Verdict::kReproduced, Verdict::kReproduced}), Verdict::kReproduced);
  EXPECT_EQ(combine({Verdict::kReproduced, Verdict::kInconclusive}), Verdict::kInconclusive);
  EXPECT_EQ(combine({Verdict::kInconclusive, Verdict::kNotReproduced}), Verdict::kNotReproduced);
  EXPECT_EQ(combine({}), Verdict::kInconclusive);
}

TEST(Replication, EveryClaimReproduced) {
  const auto v =
      verdicts(aggregate(q(0.3, 0.2, 0.4), q(0.3, 0.1, 0.5), q(0.2, 0.05, 0.3), q(0.05, 0.02, 0.1),
                         q(0.01, 0.0, 0.02, 3, "seeds"), q(0.3, 0.2, 0.4, 3, "seeds")));
  for (const char* id :
       {"gap_medium", "gap_peak", "heavy_collapse", "middle_layer_still", "quant_recovery"})
    EXPECT_EQ(v.at(id), Verdict::kReproduced) << id;
}

TEST(Replication, EveryClaimNotReproduced) {
  const auto v = verdicts(aggregate(q(-0.1, -0.2, -0.05), q(0.3, 0.1, 0.5), q(-0.2, -0.3, -0.1),
                                    q(0.3, 0.25, 0.4), q(0.35, 0.28, 0.41, 3, "seeds"),
                                    q(0.0, -0.02, 0.02, 3, "seeds")));
  for (const char* id :
       {"gap_medium", "gap_peak", "heavy_collapse", "middle_layer_still", "quant_recovery"})
    EXPECT_EQ(v.at(id), Verdict::kNotReproduced) << id;
}

TEST(Replication, StraddlingIntervalsAreInconclusive) {
  const auto v = verdicts(aggregate(q(0.05, -0.05, 0.15), q(0.3, 0.1, 0.5), q(0.1, -0.1, 0.3),
                                    q(0.2, 0.1, 0.3), q(0.05, 0.02, 0.09, 3, "seeds"),
                                    q(0.06, 0.01, 0.12, 3, "seeds")));
  for (const char* id :
       {"gap_medium", "gap_peak", "heavy_collapse", "middle_layer_still", "quant_recovery"})
    EXPECT_EQ(v.at(id), Verdict::kInconclusive) << id;
}

TEST(Replication, OneSeedLeavesSeedLevelClaimsInconclusive) {
  // With one seed, drift and recovery have no interval however far the value is from the
  // threshold; question-level claims still decide from the within-seed bootstrap.
  const auto claims = replication_claims(
      aggregate(q(0.3, 0.2, 0.4, 1), q(0.3, 0.1, 0.5, 1), q(0.2, 0.05, 0.3, 1),
                q(0.05, 0.02, 0.1, 1), q(0.4, 0.4, 0.4, 1, "seeds"), q(0.5, 0.5, 0.5, 1, "seeds")));
  std::map<std::string, const Claim*> by_id;
  for (const auto& c : claims) by_id[c.id] = &c;
  EXPECT_EQ(by_id.at("gap_medium")->verdict, Verdict::kReproduced);
  EXPECT_EQ(by_id.at("middle_layer_still")->verdict, Verdict::kInconclusive);
  EXPECT_NE(by_id.at("middle_layer_still")->reason.find("one seed"), std::string::npos);
  EXPECT_EQ(by_id.at("quant_recovery")->verdict, Verdict::kInconclusive);
}

TEST(Replication, MissingMeasurementsAreInconclusiveAndSaySo) {
  json a;
  a["seeds"] = {1};
  const auto claims = replication_claims(a);
  ASSERT_EQ(claims.size(), 5u);
  for (const auto& c : claims) {
    EXPECT_EQ(c.verdict, Verdict::kInconclusive) << c.id;
    EXPECT_FALSE(c.reason.empty()) << c.id;
  }
  const std::string text = replication_text(claims, 1);
  EXPECT_NE(text.find("1 seed"), std::string::npos);
  EXPECT_NE(text.find("inconclusive"), std::string::npos);
}

}  // namespace
}  // namespace lethe::report
