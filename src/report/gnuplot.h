// Line and bar charts drawn by gnuplot (a subprocess running a generated script) as PNG and SVG,
// with the data written next to them (.dat for gnuplot, .csv for anything else) so users can
// replot.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lethe::report {

struct Series {
  Series(std::string label = {}, std::vector<double> x = {}, std::vector<double> y = {})
      : label(std::move(label)), x(std::move(x)), y(std::move(y)) {}
  std::string label;
  std::vector<double> x;  // lines: x values; bars: ignored
  std::vector<double> y;  // lines: one per x; bars: one per category
  bool dashed = false;    // lines: a reference level (chance, held-out accuracy)
  int color = 0;          // lines: gnuplot line type whose colour to use (0: the next one)
  int dash_type = 0;      // lines: gnuplot dash type (0: by position; 2: dashed)
  // lines: an interval band drawn under the line (one lo and hi per x), or empty for none.
  std::vector<double> lo, hi;
  bool has_band() const { return !lo.empty() && lo.size() == x.size() && hi.size() == x.size(); }
};

struct Chart {
  Chart() = default;
  Chart(std::string name, std::string title, std::string xlabel, std::string ylabel)
      : name(std::move(name)),
        title(std::move(title)),
        xlabel(std::move(xlabel)),
        ylabel(std::move(ylabel)) {}
  std::string name;  // file stem: NAME.png, NAME.svg, NAME.dat, NAME.csv, NAME.gp
  std::string title;
  std::string xlabel;
  std::string ylabel;
  bool bars = false;                    // clustered bars over `categories` instead of lines
  std::vector<std::string> categories;  // bars only
  std::vector<Series> series;
  bool diagonal = false;   // draws y = x (ROC chance line)
  std::string note;        // one-line caption for the report
  bool log_y = false;      // logarithmic y axis (ranks)
  bool integer_x = false;  // x is an index (layers): a tic per integer when there are few
  std::string yrange;      // gnuplot range such as "[0:1.05]", empty: automatic
};

// Writes NAME.{dat,csv,gp} into `dir` and runs gnuplot for NAME.png and NAME.svg; throws
// lethe::Error with gnuplot's message when it fails or produces no file.
void render_chart(const Chart& chart, const std::filesystem::path& dir);

// Path of the gnuplot binary (LETHE_GNUPLOT or "gnuplot").
std::string gnuplot_binary();

}  // namespace lethe::report
