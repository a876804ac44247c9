// `lethe report RUN_DIR`: plots, report.html and report.md from whatever results the run directory
// holds.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/output_lock.h"
#include "core/error.h"
#include "report/report_writer.h"

namespace lethe::cli {

namespace {
struct ReportCliOptions {
  std::string run_dir;
  std::string out;
  std::string plots_dir;
  bool no_plots = false;
};
}  // namespace

void add_report_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("report",
                                 "plots + self-contained HTML/Markdown report of a run directory");
  auto o = std::make_shared<ReportCliOptions>();
  cmd->add_option("run_dir", o->run_dir, "run directory (data/, models/, results/)")->required();
  cmd->add_option("--out", o->out,
                  "report HTML path (report.md is written next to it); default RUN_DIR/report.html")
      ->capture_default_str();
  cmd->add_option("--plots-dir", o->plots_dir,
                  "where PNG/SVG/CSV plots go; default RUN_DIR/results")
      ->capture_default_str();
  cmd->add_flag("--no-plots", o->no_plots, "tables and findings only (no gnuplot)")
      ->capture_default_str();
  cmd->callback([o] {
    apply_global_options();
    report::ReportOptions options;
    options.out_html = o->out;
    options.plots_dir = o->plots_dir;
    options.plots = !o->no_plots;
    // By default the report and its plots go into the run folder, which a running `lethe run`
    // is still writing.
    const auto lock =
        o->out.empty() || o->plots_dir.empty() ? lock_output_folder(o->run_dir) : std::nullopt;
    const auto out = report::write_report(o->run_dir, options);
    std::printf("%s", report::summary_text(out.rows).c_str());
    if (!out.missing.empty()) {
      std::printf("missing (%zu):\n", out.missing.size());
      for (const auto& m : out.missing) std::printf("  %s\n", m.c_str());
    }
    std::printf("report: %s (%zu plots), %s\n", out.html.string().c_str(), out.images.size(),
                out.markdown.string().c_str());
  });
}

}  // namespace lethe::cli
