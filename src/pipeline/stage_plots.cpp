// The report stage (report/report_writer.h): every chart whose data the run produced (PNG + SVG +
// data) and report.html + report.md.
#include "core/error.h"
#include "pipeline/stages.h"
#include "report/report_writer.h"

namespace fs = std::filesystem;

namespace lethe::pipeline {

StageOutcome stage_plots(const RunContext& ctx, const std::string& inputs_sha) {
  StageSpec spec{"report", {"results/plots", "report.html", "report.md"}, {{"inputs", inputs_sha}}};
  auto outcome = run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    // The report reads the finished results of the run folder and writes its charts + pages into
    // the stage's mirror folder (report.md links results/plots/NAME.png relatively).
    report::ReportOptions options;
    options.out_html = tmp / "report.html";
    options.plots_dir = tmp / "results" / "plots";
    fs::create_directories(options.plots_dir);
    const auto out = report::write_report(ctx.run_dir, options);
    return std::to_string(out.images.size()) + " charts, " + std::to_string(out.missing.size()) +
           " result files or charts absent";
  });
  // The study's two headline charts also sit directly in results/ (issue 8 layout).
  for (const char* name : {"layerdrift_by_epoch.png", "layerdrift_by_method.png"}) {
    const fs::path from = ctx.run_dir / "results" / "plots" / name;
    const fs::path to = ctx.run_dir / "results" / name;
    if (fs::exists(from) && (!fs::exists(to) || output_sha256(to) != output_sha256(from)))
      fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  }
  return outcome;
}

}  // namespace lethe::pipeline
