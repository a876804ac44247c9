// The "Replication" section: each claim of the study lethe reproduces (the seed study of
// docs/run.md), the numbers measured for it with their intervals from aggregate.json (or one seed's
// within-seed bootstrap) and a verdict computed from those numbers by the claim's decision rule
// (all rules are in replication.cpp, `decide` and its callers; docs/report.md lists them).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/bootstrap.h"

namespace lethe::report {

enum class Verdict { kReproduced, kNotReproduced, kInconclusive };

// "reproduced", "not reproduced", "inconclusive".
std::string verdict_name(Verdict verdict);

struct Measurement {
  std::string label;      // "medium drop gap, all methods"
  eval::Interval value;   // mean and interval (NaN: not measured)
  int64_t n_seeds = 0;    // seeds with a value
  std::string resampled;  // "questions and seeds" or "seeds"
};

struct Claim {
  std::string id;  // gap_medium, gap_peak, heavy_collapse, middle_layer_still, quant_recovery
  std::string statement;  // the study's claim
  std::string study;      // the study's own numbers, quoted
  std::string rule;       // the decision rule in words
  std::vector<Measurement> measured;
  Verdict verdict = Verdict::kInconclusive;
  std::string reason;  // why this verdict, from the numbers
};

// Comparison of a quantity with the threshold the claim sets.
enum class Claimed { kAbove, kBelow };

// The one decision rule every claim uses on each of its conditions: reproduced when the whole
// interval lies on the claimed side of `threshold`, not reproduced when the whole interval lies on
// the other side, inconclusive when it straddles it or there is no interval.
Verdict decide(const eval::Interval& interval, double threshold, Claimed claimed);

// Several conditions of one claim: reproduced when all are, not reproduced when any is not,
// otherwise inconclusive (an empty list is inconclusive).
Verdict combine(const std::vector<Verdict>& verdicts);

// The claims with measurements and verdicts from an aggregate document (report/aggregate.h).
std::vector<Claim> replication_claims(const nlohmann::json& aggregate);

nlohmann::json replication_json(const std::vector<Claim>& claims);

// The section as plain text (the end of `lethe run`), Markdown and HTML.
std::string replication_text(const std::vector<Claim>& claims, int64_t n_seeds);
std::string replication_markdown(const std::vector<Claim>& claims, int64_t n_seeds);
std::string replication_html(const std::vector<Claim>& claims, int64_t n_seeds);

// "0.123 [0.045, 0.210]" (3 decimals; "-" parts for NaN).
std::string format_interval(const eval::Interval& interval);

}  // namespace lethe::report
