// The replication claims and their decision rules (replication.h). Every threshold a verdict
// depends on is a named constant below, with the reason for its value.
#include "report/replication.h"

#include <cmath>
#include <cstdio>

#include "report/aggregate.h"
#include "report/report_writer.h"

namespace lethe::report {

using eval::Interval;
using json = nlohmann::json;

namespace {

// A subset has "collapsed" when its ROUGE-L recall is below 0.2: the study's heavy GA/NPO numbers
// are 0.04-0.14, and its light models, which it calls intact, stay above 0.9.
constexpr double kCollapseRougeL = 0.2;
// Hidden states "do not move" when the relative L2 drift of the middle layer is below 0.05: a
// 5% change of the state's norm is small next to the 0.3-0.4 lethe measured at its heavy models.
constexpr double kStillDrift = 0.05;
// Quantization "partially undoes" unlearning when it gives back at least 5% of the forget ROUGE-L
// lost to unlearning (recovered_fraction, quantize_results.json).
constexpr double kRecoveredFraction = 0.05;

Measurement measurement(const std::string& label, const json& quantity) {
  Measurement m;
  m.label = label;
  m.value = interval_from_json(quantity);
  m.n_seeds = quantity.is_object() ? quantity.value("n_seeds", int64_t{0}) : 0;
  m.resampled = quantity.is_object() ? quantity.value("resampled", "") : "";
  return m;
}

const json& path_or_null(const json& doc, std::initializer_list<const char*> keys) {
  static const json null = nullptr;
  const json* at = &doc;
  for (const char* key : keys) {
    if (!at->is_object() || !at->contains(key)) return null;
    at = &(*at)[key];
  }
  return *at;
}

// A seed-level number (no per-question values) has an interval only across >= 2 seeds.
Verdict decide_measurement(const Measurement& m, double threshold, Claimed claimed) {
  if (m.resampled == "seeds" && m.n_seeds < 2) return Verdict::kInconclusive;
  return decide(m.value, threshold, claimed);
}

std::string describe(Verdict v, const std::string& if_reproduced, const std::string& if_not) {
  if (v == Verdict::kReproduced) return if_reproduced;
  if (v == Verdict::kNotReproduced) return if_not;
  return "";
}

// The sweep model of `method` at intensity `label`, or "".
std::string model_of(const json& aggregate, const std::string& method, const std::string& label) {
  const json& models = path_or_null(aggregate, {"models"});
  if (!models.is_object() || label.empty()) return "";
  for (const auto& [name, entry] : models.items())
    if (entry.value("method", "") == method && entry.value("intensity", "") == label) return name;
  return "";
}

Claim gap_medium(const json& a) {
  Claim c;
  c.id = "gap_medium";
  c.statement = "correlated retain falls faster than other retain (medium intensity)";
  c.study = "medium gap GA +0.24, GD +0.41, NPO +0.30";
  c.rule =
      "drop gap = (fine-tuned - model) ROUGE-L on correlated minus the same on other, mean "
      "over the methods at the medium intensity: reproduced when its interval is above 0, "
      "not reproduced when below 0";
  const std::string medium = path_or_null(a, {"shape", "medium"}).is_string()
                                 ? a["shape"]["medium"].get<std::string>()
                                 : "";
  const json& intensities = path_or_null(a, {"intensities"});
  if (intensities.is_array())
    for (const auto& i : intensities)
      if (!medium.empty() && i.value("label", "") == medium)
        c.measured.push_back(measurement(medium + " drop gap, all methods", i[kDropGap]));
  if (c.measured.empty()) {
    c.reason = "no medium intensity (the sweep needs >= 3 intensities)";
    return c;
  }
  c.verdict = decide_measurement(c.measured[0], 0.0, Claimed::kAbove);
  // Per-method values, shown but not voting (each has a third of the data).
  const json& models = path_or_null(a, {"models"});
  for (const auto& [name, entry] : models.items())
    if (entry.value("intensity", "") == medium)
      c.measured.push_back(
          measurement(entry.value("method", name), path_or_null(entry, {"metrics", kDropGap})));
  c.reason = describe(c.verdict, "the interval of the pooled drop gap lies above 0",
                      "the interval of the pooled drop gap lies below 0: correlated retain fell "
                      "less than other");
  if (c.reason.empty()) c.reason = "the interval of the pooled drop gap contains 0";
  return c;
}

Claim gap_peak(const json& a) {
  Claim c;
  c.id = "gap_peak";
  c.statement = "the correlated-vs-other gap peaks at medium intensity";
  c.study = "gap GA 0.003 / 0.24 / 0.06, NPO 0.03 / 0.30 / 0.10 (light / medium / heavy)";
  c.rule =
      "pooled drop gap at medium minus at light, and at medium minus at heavy: reproduced "
      "when both intervals are above 0, not reproduced when either is below 0";
  const json& shape = path_or_null(a, {"shape"});
  if (!shape.contains("medium_minus_light")) {
    c.reason = "fewer than 3 intensities";
    return c;
  }
  c.measured.push_back(measurement("medium - light", shape["medium_minus_light"]));
  c.measured.push_back(measurement("medium - heavy", shape["medium_minus_heavy"]));
  c.verdict = combine({decide_measurement(c.measured[0], 0.0, Claimed::kAbove),
                       decide_measurement(c.measured[1], 0.0, Claimed::kAbove)});
  c.reason = describe(c.verdict, "the medium gap exceeds both neighbours'",
                      "an interval lies below 0: the gap is larger at another intensity");
  if (c.reason.empty()) c.reason = "an interval contains 0";
  return c;
}

Claim heavy_collapse(const json& a) {
  Claim c;
  c.id = "heavy_collapse";
  c.statement = "heavy GA and NPO collapse both retain subsets";
  c.study = "GA 0.05 / 0.10, NPO 0.04 / 0.14 (correlated / other ROUGE-L)";
  char rule[256];
  std::snprintf(rule, sizeof rule,
                "correlated and other ROUGE-L of heavy grad_ascent and npo: reproduced when every "
                "interval is below %.2f, not reproduced when any is above it",
                kCollapseRougeL);
  c.rule = rule;
  const std::string heavy =
      path_or_null(a, {"shape", "heavy"}).is_string() ? a["shape"]["heavy"].get<std::string>() : "";
  std::vector<Verdict> votes;
  for (const char* method : {"grad_ascent", "npo"}) {
    const std::string name = model_of(a, method, heavy);
    if (name.empty()) {
      c.reason = std::string("no heavy ") + method + " model in this run";
      return c;
    }
    for (const char* key : {"retain_correlated_rouge_l", "retain_other_rouge_l"}) {
      const bool correlated = std::string(key).find("correlated") != std::string::npos;
      c.measured.push_back(measurement(name + (correlated ? " correlated" : " other"),
                                       path_or_null(a, {"models", name.c_str(), "metrics", key})));
      votes.push_back(decide_measurement(c.measured.back(), kCollapseRougeL, Claimed::kBelow));
    }
  }
  c.verdict = combine(votes);
  c.reason = describe(c.verdict, "every interval is below the collapse level",
                      "a subset's interval is above the collapse level");
  if (c.reason.empty()) c.reason = "an interval straddles the collapse level";
  return c;
}

Claim middle_layer_still(const json& a) {
  Claim c;
  c.id = "middle_layer_still";
  c.statement = "middle-layer hidden states do not move (unlearning suppresses the output)";
  c.study = "delta h = 0 at layer 14 of 28, every method and intensity";
  char rule[256];
  std::snprintf(rule, sizeof rule,
                "relative L2 drift of the forget answers' hidden states at layer num_layers/2, "
                "mean over the heavy models: reproduced when its interval is below %.2f, not "
                "reproduced when above (a seed-level number: needs >= 2 seeds)",
                kStillDrift);
  c.rule = rule;
  const json& q = path_or_null(a, {"seed_level", "heavy_middle_layer_drift"});
  const json& layer = path_or_null(a, {"seed_level", "middle_layer"});
  const json& layers = path_or_null(a, {"seed_level", "num_layers"});
  if (!q.is_object() || !q["mean"].is_number()) {
    c.reason = "no repr results with drift for the heavy models";
    return c;
  }
  c.measured.push_back(
      measurement("heavy models, layer " + layer.dump() + " of " + layers.dump(), q));
  c.verdict = decide_measurement(c.measured[0], kStillDrift, Claimed::kBelow);
  c.reason = describe(c.verdict, "the drift's interval is below the threshold",
                      "the drift's interval is above the threshold: the middle layer moved");
  if (c.reason.empty())
    c.reason = c.measured[0].n_seeds < 2 ? "one seed: a seed-level number has no interval"
                                         : "the drift's interval straddles the threshold";
  return c;
}

Claim quant_recovery(const json& a) {
  Claim c;
  c.id = "quant_recovery";
  c.statement = "quantization partially undoes LoRA unlearning";
  c.study = "qualitative";
  char rule[320];
  std::snprintf(rule, sizeof rule,
                "share of the forget ROUGE-L lost to unlearning that the quantized model gives "
                "back, mean over the quantized models, per scheme: reproduced when some scheme's "
                "interval is above %.2f, not reproduced when every scheme's is below it (a "
                "seed-level number: needs >= 2 seeds)",
                kRecoveredFraction);
  c.rule = rule;
  const json& schemes = path_or_null(a, {"seed_level", "quant_recovered_fraction"});
  if (!schemes.is_object() || schemes.empty()) {
    c.reason = "no quantization results with a recovered fraction";
    return c;
  }
  bool any_reproduced = false, all_not = true;
  for (const auto& [scheme, q] : schemes.items()) {
    c.measured.push_back(measurement(scheme, q));
    const Verdict v = decide_measurement(c.measured.back(), kRecoveredFraction, Claimed::kAbove);
    any_reproduced = any_reproduced || v == Verdict::kReproduced;
    all_not = all_not && v == Verdict::kNotReproduced;
  }
  // "Some scheme" is the claim: one scheme reproducing it is enough.
  c.verdict = any_reproduced ? Verdict::kReproduced
              : all_not      ? Verdict::kNotReproduced
                             : Verdict::kInconclusive;
  c.reason = describe(c.verdict, "a scheme's recovery interval is above the threshold",
                      "every scheme's recovery interval is below the threshold");
  if (c.reason.empty())
    c.reason = c.measured[0].n_seeds < 2 ? "one seed: a seed-level number has no interval"
                                         : "no scheme's interval lies above the threshold";
  return c;
}

std::string seeds_note(int64_t n_seeds) {
  return n_seeds == 1 ? "1 seed: intervals from the bootstrap over questions"
                      : std::to_string(n_seeds) +
                            " seeds: intervals from the bootstrap over questions and seeds";
}

}  // namespace

std::string verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kReproduced:
      return "reproduced";
    case Verdict::kNotReproduced:
      return "not reproduced";
    case Verdict::kInconclusive:
      break;
  }
  return "inconclusive";
}

Verdict decide(const Interval& i, double threshold, Claimed claimed) {
  if (!std::isfinite(i.mean) || !std::isfinite(i.lo) || !std::isfinite(i.hi))
    return Verdict::kInconclusive;
  const bool above = i.lo > threshold, below = i.hi < threshold;
  if (claimed == Claimed::kAbove)
    return above ? Verdict::kReproduced : below ? Verdict::kNotReproduced : Verdict::kInconclusive;
  return below ? Verdict::kReproduced : above ? Verdict::kNotReproduced : Verdict::kInconclusive;
}

Verdict combine(const std::vector<Verdict>& verdicts) {
  if (verdicts.empty()) return Verdict::kInconclusive;
  bool all = true;
  for (Verdict v : verdicts) {
    if (v == Verdict::kNotReproduced) return Verdict::kNotReproduced;
    all = all && v == Verdict::kReproduced;
  }
  return all ? Verdict::kReproduced : Verdict::kInconclusive;
}

std::vector<Claim> replication_claims(const json& aggregate) {
  return {gap_medium(aggregate), gap_peak(aggregate), heavy_collapse(aggregate),
          middle_layer_still(aggregate), quant_recovery(aggregate)};
}

std::string format_interval(const Interval& i) {
  auto num = [](double x) {
    if (!std::isfinite(x)) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", x);
    return std::string(buf);
  };
  if (!std::isfinite(i.lo) || !std::isfinite(i.hi)) return num(i.mean);
  return num(i.mean) + " [" + num(i.lo) + ", " + num(i.hi) + "]";
}

json replication_json(const std::vector<Claim>& claims) {
  json out = json::array();
  for (const auto& c : claims) {
    json measured = json::array();
    for (const auto& m : c.measured) {
      json j = interval_json(m.value);
      j["label"] = m.label;
      j["n_seeds"] = m.n_seeds;
      j["resampled"] = m.resampled;
      measured.push_back(j);
    }
    out.push_back({{"id", c.id},
                   {"claim", c.statement},
                   {"study", c.study},
                   {"rule", c.rule},
                   {"measured", measured},
                   {"verdict", verdict_name(c.verdict)},
                   {"reason", c.reason}});
  }
  return out;
}

std::string replication_text(const std::vector<Claim>& claims, int64_t n_seeds) {
  std::string out = "replication of the study's claims (" + seeds_note(n_seeds) + ", 95%):\n";
  for (size_t i = 0; i < claims.size(); ++i) {
    const auto& c = claims[i];
    out += "  " + std::to_string(i + 1) + ". " + c.statement + ": " + verdict_name(c.verdict) +
           " (" + c.reason + ")\n     study: " + c.study + "\n";
    for (const auto& m : c.measured)
      out += "     " + m.label + ": " + format_interval(m.value) + "\n";
  }
  return out;
}

std::string replication_markdown(const std::vector<Claim>& claims, int64_t n_seeds) {
  std::string out = "## Replication\n\n" + markdown_escape(seeds_note(n_seeds)) +
                    "; verdicts follow from the numbers by the rules below (docs/report.md).\n\n"
                    "| claim | study | measured (95% interval) | verdict |\n|---|---|---|---|\n";
  for (const auto& c : claims) {
    std::string measured;
    for (const auto& m : c.measured)
      measured += (measured.empty() ? "" : "; ") +
                  markdown_escape(m.label + " " + format_interval(m.value));
    out += "| " + markdown_escape(c.statement) + " | " + markdown_escape(c.study) + " | " +
           (measured.empty() ? "–" : measured) + " | **" + verdict_name(c.verdict) +
           "**: " + markdown_escape(c.reason) + " |\n";
  }
  out += "\nRules:\n\n";
  for (const auto& c : claims) out += "- `" + c.id + "`: " + markdown_escape(c.rule) + "\n";
  return out + "\n";
}

std::string replication_html(const std::vector<Claim>& claims, int64_t n_seeds) {
  std::string out = "<h2>Replication</h2>\n<p>" + html_escape(seeds_note(n_seeds)) +
                    "; verdicts follow from the numbers by the rules below.</p>\n"
                    "<table id=\"replication\">\n<tr><th>claim</th><th>study</th><th>measured "
                    "(95% interval)</th><th>verdict</th></tr>\n";
  for (const auto& c : claims) {
    std::string measured;
    for (const auto& m : c.measured)
      measured +=
          (measured.empty() ? "" : "<br>") + html_escape(m.label + " " + format_interval(m.value));
    out += "<tr><td>" + html_escape(c.statement) + "</td><td>" + html_escape(c.study) +
           "</td><td>" + (measured.empty() ? "–" : measured) + "</td><td class=\"verdict\"><b>" +
           verdict_name(c.verdict) + "</b>: " + html_escape(c.reason) + "</td></tr>\n";
  }
  out += "</table>\n<ul>\n";
  for (const auto& c : claims)
    out += "<li><code>" + html_escape(c.id) + "</code>: " + html_escape(c.rule) + "</li>\n";
  return out + "</ul>\n";
}

}  // namespace lethe::report
