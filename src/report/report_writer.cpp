// HTML + Markdown rendering of a run's results; every string from the results is escaped.
#include "report/report_writer.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "eval/results_schema.h"
#include "report/aggregate.h"
#include "report/neuron_table.h"
#include "report/plots.h"
#include "report/replication.h"
#include "report/training_evals.h"

namespace lethe::report {

namespace fs = std::filesystem;
namespace k = eval::schema;

namespace {

std::string fmt(const std::optional<double>& v, int digits = 3) {
  if (!v || !std::isfinite(*v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, *v);
  return buf;
}

std::string fmt_sci(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, (*v != 0 && std::fabs(*v) < 1e-3) ? "%.2e" : "%.3f", *v);
  return buf;
}

std::string base64(const std::string& data) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t n =
        (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    for (int k = 3; k >= 0; --k) out += table[(n >> (6 * k)) & 63];
  }
  if (i < data.size()) {
    uint32_t n = uint8_t(data[i]) << 16;
    if (i + 1 < data.size()) n |= uint8_t(data[i + 1]) << 8;
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < data.size() ? table[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

const std::map<std::string, std::string>& method_notes() {
  static const std::map<std::string, std::string> notes = {
      {"grad_ascent", "Gradient ascent: maximises the loss on the forget set (Jang et al. 2023)."},
      {"grad_diff",
       "Gradient difference: ascent on the forget set plus descent on the retain set (Liu et al. "
       "2022)."},
      {"ga_kl",
       "Gradient ascent with a KL term keeping retain predictions close to the fine-tuned model."},
      {"npo",
       "Negative preference optimisation: a bounded, DPO-like loss on forget answers only (Zhang "
       "et al. 2024)."},
      {"npo_gd", "NPO plus a retain-set cross-entropy term."},
      {"npo_kl", "NPO plus a KL term on the retain set."},
      {"simnpo", "SimNPO: reference-free, length-normalised NPO (Fan et al. 2024)."},
      {"dpo", "DPO with refusals as preferred answers and the forget answers as rejected ones."},
      {"idk_dpo", "DPO towards 'I don't know' answers on the forget set."},
      {"rmu",
       "Representation misdirection: pushes a middle layer's activations on forget data to a "
       "random direction (Li et al. 2024)."},
      {"rt", "Refusal training: fine-tuning on refusals for forget questions."},
      {"task_vector",
       "Task-vector negation: subtracts the fine-tuning delta learned on the forget set (Ilharco "
       "et al. 2023)."},
      {"finetuned", "The model fine-tuned on forget + retain: the starting point of unlearning."},
      {"retain_only",
       "The gold standard: fine-tuned on the retain set only, never saw the forget set."},
      {"base", "The base model without any adapter."}};
  return notes;
}

// The sign-flip tests of aggregate.json's gap_tests, one row per method x intensity.
std::vector<std::array<std::string, 5>> gap_test_cells(const json& aggregate) {
  std::vector<std::array<std::string, 5>> rows;
  if (!aggregate.contains("gap_tests") || !aggregate["gap_tests"].is_array()) return rows;
  for (const auto& t : aggregate["gap_tests"]) {
    char mean[32], p[32];
    std::snprintf(mean, sizeof mean, "%+.3f", t.value("mean_difference", 0.0));
    std::snprintf(p, sizeof p, "%.4g%s", t.value("p_value", 1.0),
                  t.value("exact", true) ? "" : " (MC)");
    rows.push_back({t.value("intensity", ""), t.value("method", ""),
                    std::to_string(t.value("n", int64_t{0})) + " (" + t.value("pairs", "") + ")",
                    mean, p});
  }
  return rows;
}

constexpr const char* kGapTestsNote =
    "drop gap = (fine-tuned − model) ROUGE-L on correlated minus on other retain; each trained "
    "model (seed × method × intensity) pairs its two drops; two-sided sign-flip permutation "
    "test of the mean (exact for n ≤ 16).";

std::string gap_tests_html(const json& aggregate) {
  const auto rows = gap_test_cells(aggregate);
  if (rows.empty()) return "";
  std::string out = "<h3>Correlated vs other: sign-flip tests</h3>\n<p>" +
                    html_escape(kGapTestsNote) +
                    "</p>\n<table id=\"gap-tests\">\n<tr><th>intensity</th><th>method</th><th>n "
                    "(pairs)</th><th>mean drop gap</th><th>p</th></tr>\n";
  for (const auto& r : rows) {
    out += "<tr>";
    for (size_t i = 0; i < r.size(); ++i)
      out += (i >= 3 ? "<td class=\"num\">" : "<td>") + html_escape(r[i]) + "</td>";
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string gap_tests_markdown(const json& aggregate) {
  const auto rows = gap_test_cells(aggregate);
  if (rows.empty()) return "";
  std::string out =
      "### Correlated vs other: sign-flip tests\n\n" + markdown_escape(kGapTestsNote) +
      "\n\n| intensity | method | n (pairs) | mean drop gap | p |\n|---|---|---|---:|---:|\n";
  for (const auto& r : rows)
    out += "| " + markdown_escape(r[0]) + " | " + markdown_escape(r[1]) + " | " +
           markdown_escape(r[2]) + " | " + r[3] + " | " + r[4] + " |\n";
  return out + "\n";
}

const SummaryRow* row_named(const std::vector<SummaryRow>& rows, const std::string& method) {
  for (const auto& r : rows)
    if (r.method == method) return &r;
  return nullptr;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string markdown_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string("|*_`[]<>\\#").find(c) != std::string::npos) out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

std::vector<std::string> key_findings(const RunResults& run, const std::vector<SummaryRow>& rows) {
  std::vector<std::string> out;
  const SummaryRow* ft = row_named(rows, "finetuned");
  const SummaryRow* gold = row_named(rows, "retain_only");
  if (ft && gold && ft->forget_rouge_l && gold->forget_rouge_l)
    out.push_back("The fine-tuned model answers forget questions with ROUGE-L " +
                  fmt(ft->forget_rouge_l, 2) +
                  "; the retain-only model, which never saw them, with " +
                  fmt(gold->forget_rouge_l, 2) + ".");
  // For each method, its heaviest configuration against the fine-tuned model.
  std::map<std::string, const SummaryRow*> heaviest;
  std::map<std::string, double> heaviest_x;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& m = run.models[i];
    if (m.method == "finetuned" || m.method == "retain_only" || m.method == "base") continue;
    const double x = m.epochs ? *m.epochs : intensity_rank(m.intensity);
    if (!heaviest.count(m.method) || heaviest_x[m.method] < x) {
      heaviest[m.method] = &rows[i];
      heaviest_x[m.method] = x;
    }
  }
  const SummaryRow* best = nullptr;
  for (const auto& [method, r] : heaviest) {
    if (!r->forget_rouge_l) continue;
    std::string s = "Heaviest " + method + " (" + r->model + ")";
    if (ft && ft->forget_rouge_l)
      s += " reduced forget ROUGE-L from " + fmt(ft->forget_rouge_l, 2) + " to " +
           fmt(r->forget_rouge_l, 2);
    else
      s += " reached forget ROUGE-L " + fmt(r->forget_rouge_l, 2);
    if (ft && ft->retain_correlated && ft->retain_other && r->retain_correlated &&
        r->retain_other) {
      const double drop_corr = *ft->retain_correlated - *r->retain_correlated;
      const double drop_other = *ft->retain_other - *r->retain_other;
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    " while correlated retain dropped %.2f %s than other retain (%.2f vs %.2f)",
                    std::fabs(drop_corr - drop_other), drop_corr >= drop_other ? "more" : "less",
                    drop_corr, drop_other);
      s += buf;
    }
    if (r->model_utility) s += "; model utility " + fmt(r->model_utility, 2);
    out.push_back(s + ".");
    if (!best || (r->forget_quality &&
                  (!best->forget_quality || *r->forget_quality > *best->forget_quality)))
      best = r;
  }
  // Linear probe: the layer where each heaviest model's forget-question accuracy is highest.
  const json* probe =
      run.repr.is_object() && run.repr.contains("probe") ? &run.repr["probe"] : nullptr;
  for (const auto& [method, r] : heaviest) {
    const json* acc = nullptr;
    if (run.repr.is_object() && run.repr.contains("models") && run.repr["models"].is_object() &&
        run.repr["models"].contains(r->model)) {
      const json& e = run.repr["models"][r->model];
      if (e.contains("forget") && e["forget"].is_object() &&
          e["forget"].contains("probe_accuracy") && e["forget"]["probe_accuracy"].is_array())
        acc = &e["forget"]["probe_accuracy"];
    }
    if (!acc || acc->empty() || !(*acc)[0].is_number()) continue;
    size_t layer = 0;
    for (size_t l = 1; l < acc->size(); ++l)
      if ((*acc)[l].is_number() && (*acc)[l].get<double>() > (*acc)[layer].get<double>()) layer = l;
    std::string s = "Linear probe (" +
                    (probe && probe->contains("attribute") && (*probe)["attribute"].is_string()
                         ? (*probe)["attribute"].get<std::string>()
                         : std::string("attribute")) +
                    ") on forget questions: heaviest " + method + " reads it with accuracy " +
                    fmt((*acc)[layer].get<double>(), 2) + " at layer " + std::to_string(layer);
    if (run.repr.contains("reference") && run.repr["reference"].is_object()) {
      const json& e = run.repr["reference"];
      if (e.contains("forget") && e["forget"].contains("probe_accuracy") &&
          e["forget"]["probe_accuracy"].is_array() &&
          e["forget"]["probe_accuracy"].size() > layer &&
          e["forget"]["probe_accuracy"][layer].is_number())
        s += " (fine-tuned model: " + fmt(e["forget"]["probe_accuracy"][layer].get<double>(), 2) +
             ")";
    }
    if (probe && probe->contains("classes") && (*probe)["classes"].is_array() &&
        !(*probe)["classes"].empty())
      s += "; chance " + fmt(1.0 / static_cast<double>((*probe)["classes"].size()), 2);
    out.push_back(s + ".");
  }
  if (best && best->forget_quality)
    out.push_back("Highest forget quality (KS test p-value against the retain-only model): " +
                  best->model + " at " + fmt_sci(best->forget_quality) +
                  (*best->forget_quality >= 0.05 ? " (indistinguishable at 5%)."
                                                 : " (still distinguishable at 5%)."));
  for (const auto& [label, r] : run.relearn) {
    const json* steps = k::at(r, {k::kSteps});
    if (!steps || !steps->is_array() || steps->empty()) continue;
    const json& first = steps->front();
    const json& last = steps->back();
    auto a = k::number_at(first, {k::kRelearnForgetRougeL}),
         b = k::number_at(last, {k::kRelearnForgetRougeL});
    if (a && b) {
      std::string s = "Relearning on " + label + ": forget ROUGE-L went from " + fmt(a, 2) +
                      " to " + fmt(b, 2) + " in " + fmt(k::number_at(last, {k::kStep}), 0) +
                      " steps";
      if (auto rec = k::number_at(last, {k::kRelearnRecoveryRougeL}))
        s += " (" + fmt(*rec * 100, 0) + "% of the fine-tuned level)";
      out.push_back(s + ".");
    }
  }
  return out;
}

ReportOutput write_report(const fs::path& run_dir, const ReportOptions& options) {
  RunResults run = read_run(run_dir);
  ReportOutput result;
  result.html = options.out_html.empty() ? run_dir / "report.html" : options.out_html;
  result.markdown = fs::path(result.html).replace_extension(".md");
  // A multi-seed run folder (aggregate.json, one seed-N/ run per seed) reports the aggregate; a
  // single run its own results, with the replication claims from its within-seed bootstrap.
  json aggregate = read_aggregate(run_dir);
  const bool multi_seed = aggregate.is_object();
  const fs::path plots_dir = options.plots_dir.empty()
                                 ? (multi_seed ? run_dir / "results" : run.results_dir)
                                 : options.plots_dir;
  std::vector<std::string> skipped;
  std::vector<Chart> charts;
  std::vector<std::string> findings;
  if (multi_seed) {
    result.rows = summary_rows_from_aggregate(aggregate);
    charts = build_aggregate_charts(aggregate, &skipped);
    std::string seeds, folders;
    for (const auto& s : aggregate["seeds"]) seeds += (seeds.empty() ? "" : ", ") + s.dump();
    for (const auto& f : aggregate["folders"])
      folders += (folders.empty() ? "" : ", ") + f.get<std::string>();
    findings.push_back("Seeds " + seeds + " (folders " + folders +
                       ", each a complete run with its own report.html); every number is the mean "
                       "over seeds with its 95% interval (" +
                       aggregate["bootstrap"].value("procedure", std::string()) + ").");
  } else {
    result.rows = summary_rows(run);
    result.missing = run.missing;
    charts = build_charts(run, &skipped);
    findings = key_findings(run, result.rows);
    if (run.eval.is_object()) {
      uint64_t seed = 0;
      if (fs::exists(run_dir / "run.json")) {
        const json r = core::read_json(run_dir / "run.json");
        if (r.contains("seed") && r["seed"].is_number_unsigned()) seed = r["seed"].get<uint64_t>();
      }
      try {
        aggregate = build_aggregate({{seed, run_dir}}, default_aggregate_bootstrap());
      } catch (const std::exception& e) {
        result.missing.push_back(std::string("replication: ") + e.what());
      }
    }
  }
  if (options.plots)
    for (const auto& c : charts) render_chart(c, plots_dir);
  for (const auto& s : skipped) result.missing.push_back("plot " + s);

  std::set<std::string> methods;
  for (const auto& r : result.rows) methods.insert(r.method);

  std::ostringstream h, md;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>lethe report: "
    << html_escape(run_dir.filename().string()) << "</title>\n<style>\n"
    << "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\n"
    << "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 8px}\n"
    << "td.num{text-align:right;font-family:monospace}th{background:#eee}\n"
    << "img{max-width:100%;border:1px solid #ddd}figure{margin:1.5em "
       "0}pre{background:#f6f6f6;padding:1em;overflow:auto}\n"
    << ".missing{color:#a40}\n</style></head>\n<body>\n";
  h << "<h1>lethe unlearning report</h1>\n<p>Run directory: <code>" << html_escape(run_dir.string())
    << "</code></p>\n";
  md << "# lethe unlearning report\n\nRun directory: `" << run_dir.string() << "`\n\n";

  h << "<h2>Summary</h2>\n";
  md << "## Summary\n\n";
  if (result.rows.empty()) {
    h << "<p class=\"missing\">No evaluation results (results/eval_results.json).</p>\n";
    md << "No evaluation results (results/eval_results.json).\n\n";
  } else {
    std::vector<std::string> headers = {"model", "method"};
    for (const auto& c : summary_columns()) headers.push_back(c.header);
    h << "<table id=\"summary\">\n<tr>";
    md << "|";
    for (const auto& t : headers) {
      h << "<th>" << html_escape(t) << "</th>";
      md << " " << t << " |";
    }
    h << "</tr>\n";
    md << "\n|";
    for (size_t i = 0; i < headers.size(); ++i) md << (i < 2 ? "---|" : "---:|");
    md << "\n";
    for (const auto& r : result.rows) {
      std::vector<std::string> cells;
      for (const auto& c : summary_columns()) cells.push_back(summary_cell(r, c));
      h << "<tr><td>" << html_escape(r.model) << "</td><td>" << html_escape(r.method) << "</td>";
      md << "| " << markdown_escape(r.model) << " | " << markdown_escape(r.method) << " |";
      for (const auto& c : cells) {
        h << "<td class=\"num\">" << c << "</td>";
        md << " " << c << " |";
      }
      h << "</tr>\n";
      md << "\n";
    }
    h << "</table>\n";
    md << "\n";
  }

  // Evaluation during unlearning (lethe unlearn --eval-every): one line per method's run.
  const auto training = training_eval_summaries(run);
  if (!training.empty()) {
    h << "<h3>Evaluation during unlearning</h3>\n<table id=\"training-evals\">\n<tr><th>method</th>"
         "<th>stop criterion</th><th>met at step</th><th>evaluations</th><th>forget ROUGE-L</th>"
         "<th>retain ROUGE-L</th></tr>\n";
    md << "### Evaluation during unlearning\n\n| method | stop criterion | met at step | "
          "evaluations | forget ROUGE-L | retain ROUGE-L |\n|---|---|---:|---:|---:|---:|\n";
    for (const auto& t : training) {
      const std::string met = t.stop_when.empty() ? "-"
                              : t.stop_step       ? std::to_string(*t.stop_step)
                                                  : "never";
      const std::string criterion_html =
          t.stop_when.empty() ? "-" : "<code>" + html_escape(t.stop_when) + "</code>";
      const std::string criterion_md = t.stop_when.empty() ? "-" : "`" + t.stop_when + "`";
      h << "<tr><td>" << html_escape(t.method) << "</td><td>" << criterion_html
        << "</td><td class=\"num\">" << met << "</td><td class=\"num\">" << t.evaluations
        << "</td><td class=\"num\">" << fmt(t.forget_rouge_l) << "</td><td class=\"num\">"
        << fmt(t.retain_rouge_l) << "</td></tr>\n";
      md << "| " << markdown_escape(t.method) << " | " << criterion_md << " | " << met << " | "
         << t.evaluations << " | " << fmt(t.forget_rouge_l) << " | " << fmt(t.retain_rouge_l)
         << " |\n";
    }
    h << "</table>\n<p>ROUGE-L at the stop step (else the last evaluation), on the evaluation "
         "subset.</p>\n";
    md << "\nROUGE-L at the stop step (else the last evaluation), on the evaluation subset.\n\n";
  }

  if (aggregate.is_object()) {
    const auto claims = replication_claims(aggregate);
    const int64_t n_seeds = static_cast<int64_t>(aggregate["seeds"].size());
    h << replication_html(claims, n_seeds) << gap_tests_html(aggregate);
    md << replication_markdown(claims, n_seeds) << gap_tests_markdown(aggregate);
  } else {
    h << "<h2>Replication</h2>\n<p class=\"missing\">No evaluation results to measure the "
         "study's claims on.</p>\n";
    md << "## Replication\n\nNo evaluation results to measure the study's claims on.\n\n";
  }

  h << "<h2>Key findings</h2>\n<ul>\n";
  md << "## Key findings\n\n";
  for (const auto& f : findings) {
    h << "<li>" << html_escape(f) << "</li>\n";
    md << "- " << markdown_escape(f) << "\n";
  }
  if (findings.empty()) {
    h << "<li>No findings: the results needed for them are missing.</li>\n";
    md << "- No findings: the results needed for them are missing.\n";
  }
  h << "</ul>\n";
  md << "\n";

  h << "<h2>Plots</h2>\n";
  md << "## Plots\n\n";
  for (const auto& c : charts) {
    if (!options.plots) break;
    const fs::path png = plots_dir / (c.name + ".png");
    result.images.push_back(png);
    h << "<figure id=\"plot-" << html_escape(c.name) << "\"><img alt=\"" << html_escape(c.title)
      << "\" src=\"data:image/png;base64," << base64(core::read_file(png)) << "\">\n<figcaption>"
      << html_escape(c.title) << ". " << html_escape(c.note) << " Data: <code>"
      << html_escape(c.name) << ".csv</code>, SVG: <code>" << html_escape(c.name)
      << ".svg</code>.</figcaption></figure>\n";
    const fs::path rel = fs::relative(png, fs::absolute(result.markdown).parent_path());
    md << "### " << markdown_escape(c.title) << "\n\n![" << markdown_escape(c.title) << "]("
       << rel.generic_string() << ")\n\n"
       << markdown_escape(c.note) << "\n\n";
  }
  if (charts.empty() || !options.plots) {
    h << "<p class=\"missing\">No plots.</p>\n";
    md << "No plots.\n\n";
  }

  // Neuron-level change (lethe repr --neurons): the numbers behind the neuron charts, per model.
  const NeuronTable neurons = neuron_table(run);
  if (!neurons.rows.empty()) {
    const std::string last = ", layer_" + std::to_string(neurons.layers);
    const std::vector<std::string> head = {"model",
                                           "top-1% share" + last,
                                           "top-1% share, mean over layers",
                                           "overlap correlated" + last,
                                           "overlap other" + last,
                                           "correlated change at forget top / random" + last,
                                           "other change at forget top / random" + last,
                                           "top forget neurons" + last};
    h << "<h3>Neuron-level change</h3>\n<table id=\"neurons\">\n<tr>";
    md << "### Neuron-level change\n\n|";
    for (const auto& c : head) {
      h << "<th>" << html_escape(c) << "</th>";
      md << " " << c << " |";
    }
    h << "</tr>\n";
    md << "\n|---|---:|---:|---:|---:|---:|---:|---|\n";
    for (const auto& r : neurons.rows) {
      std::string ids;
      for (int64_t id : r.top_forget) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
      if (ids.empty()) ids = "-";
      const std::vector<std::string> nums = {fmt(r.share_last),          fmt(r.share_mean),
                                             fmt(r.overlap_correlated),  fmt(r.overlap_other),
                                             fmt(r.ratio_correlated, 2), fmt(r.ratio_other, 2)};
      h << "<tr><td>" << html_escape(r.model) << "</td>";
      md << "| " << markdown_escape(r.model) << " |";
      for (const auto& v : nums) {
        h << "<td class=\"num\">" << v << "</td>";
        md << " " << v << " |";
      }
      h << "<td>" << ids << "</td></tr>\n";
      md << " " << ids << " |\n";
    }
    const std::string caption =
        "Per MLP layer, |change| of each neuron's mean activation (silu(gate) * up) over the "
        "answer tokens, unlearned vs fine-tuned. Share: the part of the total change in the top " +
        std::to_string(neurons.top_k) + " of " + std::to_string(neurons.intermediate_size) +
        " neurons (top 1%); overlap: the share of the forget questions' top neurons also in a "
        "retain set's top; both are " +
        fmt(neurons.chance) +
        " when the change is spread evenly or the neurons are drawn at random. Change at forget "
        "top / random: the retain set's mean |change| at the forget questions' top neurons over "
        "its mean |change| at any neuron (1 = no more than at random neurons).";
    h << "</table>\n<p>" << html_escape(caption) << "</p>\n";
    md << "\n" << markdown_escape(caption) << "\n\n";
  }

  h << "<h2>Methods</h2>\n<dl>\n";
  md << "## Methods\n\n";
  for (const auto& m : methods) {
    auto it = method_notes().find(m);
    const std::string note = it == method_notes().end() ? "(no description)" : it->second;
    h << "<dt><code>" << html_escape(m) << "</code></dt><dd>" << html_escape(note) << "</dd>\n";
    md << "- `" << m << "`: " << markdown_escape(note) << "\n";
  }
  h << "</dl>\n";
  md << "\n";

  h << "<h2>Missing pieces</h2>\n";
  md << "## Missing pieces\n\n";
  if (result.missing.empty()) {
    h << "<p>None: every expected result file was found.</p>\n";
    md << "None: every expected result file was found.\n\n";
  } else {
    h << "<ul id=\"missing\">\n";
    for (const auto& m : result.missing) {
      h << "<li class=\"missing\">" << html_escape(m) << "</li>\n";
      md << "- " << markdown_escape(m) << "\n";
    }
    h << "</ul>\n";
    md << "\n";
  }

  h << "<h2>Configuration</h2>\n";
  md << "## Configuration\n\n";
  std::string config = run.config_text;
  if (config.empty() && run.eval.is_object() && run.eval.contains("config"))
    config = run.eval["config"].dump(2);
  if (config.empty()) {
    h << "<p class=\"missing\">No configuration found.</p>\n";
    md << "No configuration found.\n\n";
  } else {
    h << "<pre>" << html_escape(config) << "</pre>\n";
    md << "```\n" << config << "\n```\n\n";
  }
  h << "<p><small>Generated by lethe " << LETHE_VERSION << ".</small></p>\n</body></html>\n";
  core::write_file_atomic(result.html, h.str());
  core::write_file_atomic(result.markdown, md.str());
  return result;
}

}  // namespace lethe::report
