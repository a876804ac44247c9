// gnuplot charts: data files, one script per chart, two terminals (pngcairo, svg).
#include "report/gnuplot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lethe::report {

namespace fs = std::filesystem;

namespace {

// A gnuplot single-quoted string: only ' needs doubling.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "''";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out + "'";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string num(double v) {
  if (!std::isfinite(v)) return "NaN";
  std::ostringstream out;
  out << std::setprecision(8) << v;
  return out.str();
}

void write_data(const Chart& c, const fs::path& dat, const fs::path& csv) {
  std::ostringstream d, v;
  if (c.bars) {
    d << "# category";
    v << "category";
    for (const auto& s : c.series) {
      d << "\t" << quoted(s.label);
      v << "," << csv_field(s.label);
    }
    d << "\n";
    v << "\n";
    for (size_t i = 0; i < c.categories.size(); ++i) {
      std::string label = c.categories[i];
      for (char& ch : label)
        if (ch == '"' || ch == '\n') ch = '\'';
      d << "\"" << label << "\"";
      v << csv_field(c.categories[i]);
      for (const auto& s : c.series) {
        const double y = i < s.y.size() ? s.y[i] : NAN;
        d << "\t" << num(y);
        v << "," << num(y);
      }
      d << "\n";
      v << "\n";
    }
  } else {
    bool bands = false;
    for (const auto& s : c.series) bands = bands || s.has_band();
    v << (bands ? "series,x,y,lo,hi\n" : "series,x,y\n");
    for (size_t k = 0; k < c.series.size(); ++k) {
      const auto& s = c.series[k];
      d << "# " << s.label << "\n";
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        d << num(s.x[i]) << "\t" << num(s.y[i]);
        v << csv_field(s.label) << "," << num(s.x[i]) << "," << num(s.y[i]);
        if (s.has_band()) d << "\t" << num(s.lo[i]) << "\t" << num(s.hi[i]);
        if (bands)
          v << "," << (s.has_band() ? num(s.lo[i]) : "") << ","
            << (s.has_band() ? num(s.hi[i]) : "");
        d << "\n";
        v << "\n";
      }
      if (s.x.empty()) d << "NaN\tNaN\n";
      d << "\n\n";
    }
  }
  core::write_file_atomic(dat, d.str());
  core::write_file_atomic(csv, v.str());
}

std::string plot_command(const Chart& c, const fs::path& dat) {
  std::ostringstream p;
  if (c.bars) {
    p << "set style data histograms\nset style histogram clustered gap 1\n"
         "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset xtics rotate by -30\n";
    if (c.yrange.empty()) p << "set yrange [0:*]\n";
    p << "plot ";
    for (size_t k = 0; k < c.series.size(); ++k) {
      if (k) p << ", ";
      p << quoted(dat.string()) << " using " << k + 2 << (k == 0 ? ":xtic(1)" : "") << " title "
        << quoted(c.series[k].label);
    }
  } else {
    p << "plot ";
    // gnuplot cycles 8 colours: each further group of 8 lines gets other points and dashes, so
    // no two lines of a chart look alike.
    static const int points[] = {7, 5, 9, 13, 11}, dashes[] = {1, 4, 5, 3, 1};
    // Interval bands first, so every line lies on top of them; a band takes its line's colour.
    bool first = true;
    for (size_t k = 0; k < c.series.size(); ++k) {
      if (!c.series[k].has_band()) continue;
      const int color = c.series[k].color > 0 ? c.series[k].color : static_cast<int>(k % 8) + 1;
      p << (first ? "" : ", ") << quoted(dat.string()) << " index " << k
        << " using 1:3:4 with filledcurves fs transparent solid 0.15 noborder lc " << color
        << " notitle";
      first = false;
    }
    for (size_t k = 0; k < c.series.size(); ++k) {
      if (!first || k) p << ", ";
      p << quoted(dat.string()) << " index " << k << (c.series[k].has_band() ? " using 1:2" : "");
      if (c.series[k].dashed)
        p << " with lines dt 2 lw 2";
      else
        p << " with linespoints lw 2 pt " << points[(k / 8) % 5] << " dt "
          << (c.series[k].dash_type > 0 ? c.series[k].dash_type : dashes[(k / 8) % 5])
          << " ps 0.8";
      if (c.series[k].color > 0)
        p << " lc " << c.series[k].color;
      else if (c.series[k].has_band())
        p << " lc " << k % 8 + 1;
      p << " title " << quoted(c.series[k].label);
    }
    if (c.diagonal) p << ", x with lines dt 2 lc rgb 'gray' title 'chance'";
  }
  p << "\n";
  return p.str();
}

}  // namespace

std::string gnuplot_binary() {
  const char* env = std::getenv("LETHE_GNUPLOT");
  return env && *env ? env : "gnuplot";
}

void render_chart(const Chart& c, const fs::path& dir) {
  LETHE_CHECK(!c.series.empty(), "plot ", c.name, ": no data series");
  fs::create_directories(dir);
  const fs::path dat = dir / (c.name + ".dat"), csv = dir / (c.name + ".csv");
  const fs::path gp = dir / (c.name + ".gp"), png = dir / (c.name + ".png"),
                 svg = dir / (c.name + ".svg");
  write_data(c, dat, csv);

  std::ostringstream s;
  s << "# Generated by lethe report; replot with: gnuplot " << c.name << ".gp\n"
    << "set encoding utf8\nset termoption noenhanced\n"
    << "set title " << quoted(c.title) << "\nset xlabel " << quoted(c.xlabel) << "\nset ylabel "
    << quoted(c.ylabel) << "\nset grid\nset key outside right top\n";
  if (c.diagonal) s << "set xrange [0:1]\nset yrange [0:1]\nset size ratio 1\n";
  if (c.log_y) s << "set logscale y\n";
  if (c.integer_x) {
    double span = 0;
    for (const auto& series : c.series)
      for (double x : series.x) span = std::max(span, std::fabs(x));
    s << (span <= 32 ? "set xtics 1\n" : "set format x '%.0f'\n");
  }
  if (!c.yrange.empty()) s << "set yrange " << c.yrange << "\n";
  const std::string plot = plot_command(c, dat);
  const fs::path png_tmp = core::temp_path_for(png), svg_tmp = core::temp_path_for(svg);
  s << "set terminal pngcairo size 960,560 font 'Sans,10' noenhanced\nset output "
    << quoted(png_tmp.string()) << "\n"
    << plot << "set output\n";
  s << "set terminal svg size 960,560 dynamic font 'Sans,10' noenhanced\nset output "
    << quoted(svg_tmp.string()) << "\n"
    << plot << "set output\n";
  core::write_file_atomic(gp, s.str());

  const std::string cmd = gnuplot_binary() + " " + quoted(gp.string()) + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  LETHE_CHECK(pipe, "plot ", c.name, ": cannot start gnuplot");
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  std::string flat;
  for (char ch : out) flat += ch == '\n' ? ' ' : ch;
  if (status != 0 || !fs::exists(png_tmp) || fs::file_size(png_tmp) == 0 || !fs::exists(svg_tmp)) {
    std::error_code ec;
    fs::remove(png_tmp, ec);
    fs::remove(svg_tmp, ec);
    LETHE_FAIL("plot ", c.name, ": gnuplot (", gnuplot_binary(),
               ") failed: ", flat.empty() ? std::string("no output; is gnuplot installed?") : flat);
  }
  core::commit_temp_file(png_tmp, png);
  core::commit_temp_file(svg_tmp, svg);
}

}  // namespace lethe::report
