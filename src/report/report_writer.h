// The run report: summary table, key findings, charts, method notes and config, written as one
// self-contained report.html (images inlined as data URIs) and report.md (relative image links).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/gnuplot.h"
#include "report/results_reader.h"
#include "report/summary_table.h"

namespace lethe::report {

// Sentences computed from the results ("heavy grad_ascent reduced forget ROUGE-L from 0.97 to 0.12
// ...").
std::vector<std::string> key_findings(const RunResults& run, const std::vector<SummaryRow>& rows);

std::string html_escape(const std::string& text);
// Escapes Markdown table/inline syntax (| * _ ` [ ] < > \) so cell text stays literal.
std::string markdown_escape(const std::string& text);

struct ReportOptions {
  std::filesystem::path out_html;   // default RUN_DIR/report.html
  std::filesystem::path plots_dir;  // default RUN_DIR/results
  bool plots = true;                // false: no gnuplot (tables and findings only)
};

struct ReportOutput {
  std::filesystem::path html, markdown;
  std::vector<std::filesystem::path> images;  // PNGs embedded in the HTML
  std::vector<std::string> missing;  // result files absent or unreadable, and skipped charts
  std::vector<SummaryRow> rows;
};

// Reads RUN_DIR, draws the charts its data allows and writes report.html + report.md atomically.
// Throws lethe::Error when RUN_DIR is not a folder or gnuplot fails; absent results are listed
// instead.
ReportOutput write_report(const std::filesystem::path& run_dir, const ReportOptions& options);

}  // namespace lethe::report
