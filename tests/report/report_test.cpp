// Report: plots from synthetic result files, the HTML table values, a run directory with missing
// pieces, and report.html rendered by headless Chromium with every image loaded.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "expect_close.h"
#include "report/plots.h"
#include "report/report_writer.h"

namespace lethe::report {
namespace {

namespace fs = std::filesystem;
using core::json;

json aggregates(double forget, double corr, double other, double fq, double mu) {
  return {{"forget", {{"rouge_l_recall", forget}, {"truth_ratio", 0.6}}},
          {"retain", {{"rouge_l_recall", (corr + other) / 2}}},
          {"retain_correlated", {{"rouge_l_recall", corr}}},
          {"retain_other", {{"rouge_l_recall", other}}},
          {"retain_gap", {{"rouge_l_recall", other - corr}}},
          {"forget_quality", fq},
          {"model_utility", mu}};
}

json mia_examples(double shift) {
  json a = json::array();
  for (int i = 0; i < 6; ++i) {
    a.push_back(
        {{"id", "f" + std::to_string(i)}, {"set", "forget"}, {"loss", 1.0 + i * 0.3 + shift}});
    a.push_back({{"id", "h" + std::to_string(i)}, {"set", "holdout"}, {"loss", 1.5 + i * 0.3}});
  }
  return a;
}

// A synthetic run: fine-tuned, retain-only and grad_ascent at 5/10/20 epochs, plus the other files.
fs::path make_run(const std::string& tag, bool complete) {
  const fs::path run = test::make_temp_dir(tag);
  fs::create_directories(run / "results");
  fs::create_directories(run / "data");
  fs::create_directories(run / "models");
  json models;
  models["finetuned"] = {{"aggregates", aggregates(0.97, 0.91, 0.93, 1e-5, 0.52)},
                         {"per_example", {{"mia", mia_examples(0.0)}}}};
  models["retain_only"] = {{"retain_reference", true},
                           {"aggregates", aggregates(0.21, 0.88, 0.90, 1.0, 0.50)}};
  const double forget[] = {0.61, 0.33, 0.12};
  const int epochs[] = {5, 10, 20};
  for (int i = 0; i < 3; ++i)
    models["unlearn_grad_ascent_lr1e-05_ep" + std::to_string(epochs[i])] = {
        {"aggregates",
         aggregates(forget[i], 0.80 - 0.2 * i, 0.85 - 0.05 * i, 0.01 * (i + 1), 0.5 - 0.05 * i)},
        {"per_example", {{"mia", mia_examples(0.5 * (i + 1))}}}};
  models["<script>alert(1)</script>"] = {{"aggregates", aggregates(0.5, 0.5, 0.5, 0.5, 0.5)}};
  core::write_json(run / "results" / "eval_results.json",
                   {{"config", {{"model", "tiny"}}}, {"models", models}});
  if (!complete) return run;
  json configs = json::array();
  for (int e : epochs)
    configs.push_back({{"name", "unlearn_grad_ascent_lr1e-05_ep" + std::to_string(e)},
                       {"method", "grad_ascent"},
                       {"epochs", e}});
  core::write_json(run / "results" / "sweep_index.json", {{"configs", configs}});
  json repr = {{"models", json::object()}};
  for (int i = 0; i < 3; ++i)
    repr["models"]["unlearn_grad_ascent_lr1e-05_ep" + std::to_string(epochs[i])] = {
        {"relative_l2", {0.01 * (i + 1), 0.05 * (i + 1), 0.2 * (i + 1)}}};
  core::write_json(run / "results" / "repr_results.json", repr);
  core::write_json(
      run / "results" / "quantize_results.json",
      {{"models",
        {{"unlearn_grad_ascent_lr1e-05_ep20",
          {{"int4",
            {{"before", {{"forget_rouge_l", 0.12}}}, {"after", {{"forget_rouge_l", 0.55}}}}},
           {"nf4",
            {{"before", {{"forget_rouge_l", 0.12}}}, {"after", {{"forget_rouge_l", 0.48}}}}}}}}}});
  core::write_json(run / "results" / "relearn_results.json",
                   {{"set", "forget"},
                    {"steps",
                     {{{"step", 0}, {"forget_rouge_l", 0.12}},
                      {{"step", 10}, {"forget_rouge_l", 0.5}},
                      {{"step", 50}, {"forget_rouge_l", 0.9}, {"recovery_rouge_l", 0.91}}}}});
  core::write_json(run / "results" / "retain_compare_results.json", {{"ok", true}});
  core::write_file_atomic(run / "config.yaml", "seed: 7\nmethods: [grad_ascent]\n");
  return run;
}

bool is_png(const fs::path& p) {
  const std::string head = core::read_file(p).substr(0, 8);
  return head == std::string("\x89PNG\r\n\x1a\n", 8);
}

TEST(ReportPlots, AllChartsFromSyntheticResults) {
  const fs::path run = make_run("report_plots", true);
  const auto out = write_report(run, {});
  for (const char* name :
       {"layerdrift_by_epoch", "layerdrift_by_method", "tradeoff_forget_retain",
        "retain_correlated_vs_other", "quantization_recovery", "relearning_curves", "mia_roc"}) {
    SCOPED_TRACE(name);
    const fs::path base = run / "results" / name;
    for (const char* ext : {".png", ".svg", ".csv", ".dat", ".gp"}) {
      fs::path f = base;
      f += ext;
      ASSERT_TRUE(fs::exists(f)) << f;
      EXPECT_GT(fs::file_size(f), 0u) << f;
    }
    EXPECT_TRUE(is_png(fs::path(base).concat(".png")));
    EXPECT_NE(core::read_file(fs::path(base).concat(".svg")).find("<svg"), std::string::npos);
  }
  EXPECT_EQ(out.images.size(), 7u);
  // The replot data holds the numbers: quantization before/after per scheme.
  const std::string csv = core::read_file(run / "results" / "quantization_recovery.csv");
  EXPECT_NE(csv.find("unlearn_grad_ascent_lr1e-05_ep20/int4,0.12,0.55"), std::string::npos) << csv;
  for (const auto& m : out.missing) EXPECT_EQ(m.find("plot "), std::string::npos) << m;
}

TEST(ReportPlots, RocCurveIsExact) {
  std::vector<double> fpr, tpr;
  roc_curve({3, 2}, {2.5, 1}, &fpr, &tpr);
  EXPECT_CLOSE("fpr", fpr, std::vector<double>({0, 0, 0.5, 0.5, 1}), 1e-12);
  EXPECT_CLOSE("tpr", tpr, std::vector<double>({0, 0.5, 0.5, 1, 1}), 1e-12);
  roc_curve({1, 1}, {1}, &fpr, &tpr);  // all tied: one step
  EXPECT_CLOSE("fpr tie", fpr, std::vector<double>({0, 1}), 1e-12);
  EXPECT_CLOSE("tpr tie", tpr, std::vector<double>({0, 1}), 1e-12);
}

TEST(ReportPlots, QuantizeEvalLayoutGivesRecoveryBars) {
  RunResults run;
  const json rec = {{"recovery",
                     {{"forget_rouge_l_recall", {{"before", 0.1}, {"after", 0.4}}},
                      {"forget_truth_ratio", {{"before", 0.5}, {"after", 0.6}}}}},
                    {"aggregates", {{"forget", {{"rouge_l_recall", 0.4}}}}}};
  run.quantize = {
      {"models",
       {{"ga", {{"full", {{"aggregates", json::object()}}}, {"schemes", {{"int8", rec}}}}}}}};
  std::vector<std::string> skipped;
  const auto charts = build_charts(run, &skipped);
  const Chart* q = nullptr;
  for (const auto& c : charts)
    if (c.name == "quantization_recovery") q = &c;
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(q->categories, std::vector<std::string>({"ga/int8"}));
  EXPECT_DOUBLE_EQ(q->series[0].y[0], 0.1);
  EXPECT_DOUBLE_EQ(q->series[1].y[0], 0.4);
}

TEST(ReportPlots, LayerDriftReadsLayerObjects) {
  const json entry = {
      {"layers",
       {{{"layer", 0}, {"forget", {{"relative_l2", 0.1}}}}, {{"layer", 1}, {"relative_l2", 0.3}}}}};
  const auto d = layer_drift(entry);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_DOUBLE_EQ(d[0].second, 0.1);
  EXPECT_DOUBLE_EQ(d[1].first, 1.0);
  EXPECT_DOUBLE_EQ(d[1].second, 0.3);
}

TEST(ReportHtml, TableValuesFindingsAndEscaping) {
  const fs::path run = make_run("report_html", true);
  ReportOptions options;
  options.plots = false;
  const auto out = write_report(run, options);
  const std::string html = core::read_file(out.html);
  const std::string md = core::read_file(out.markdown);
  // Fine-tuned row: correlated 0.91, other 0.93, gap 0.02, forget 0.97, FQ 1e-5, MU 0.52.
  for (const char* v : {"0.910", "0.930", "0.020", "0.970", "1.00e-05", "0.520", "0.600"}) {
    EXPECT_NE(html.find(std::string(">") + v + "<"), std::string::npos) << v;
    EXPECT_NE(md.find(std::string(" ") + v + " |"), std::string::npos) << v;
  }
  EXPECT_NE(html.find("unlearn_grad_ascent_lr1e-05_ep20"), std::string::npos);
  // Heavy GA: forget 0.97 -> 0.12; correlated dropped 0.91-0.40=0.51, other 0.93-0.75=0.18.
  EXPECT_NE(
      html.find(
          "reduced forget ROUGE-L from 0.97 to 0.12 while correlated retain dropped 0.33 more"),
      std::string::npos);
  EXPECT_NE(
      html.find("Relearning on forget: forget ROUGE-L went from 0.12 to 0.90 in 50 steps (91%"),
      std::string::npos);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(md.find("\\<script\\>"), std::string::npos);
  EXPECT_NE(html.find("seed: 7"), std::string::npos);
  EXPECT_NE(html.find("Gradient ascent"), std::string::npos);
  const auto text = summary_text(out.rows);
  EXPECT_NE(text.find("finetuned"), std::string::npos);
}

TEST(ReportHtml, MissingPiecesAreListedAndTheRestRenders) {
  const fs::path run = make_run("report_missing", false);
  fs::remove_all(run / "models");
  std::string output;
  ASSERT_EQ(test::run_lethe("report " + run.string(), &output), 0) << output;
  EXPECT_NE(output.find("results/repr_results.json"), std::string::npos) << output;
  const std::string html = core::read_file(run / "report.html");
  for (const char* missing :
       {"results/quantize_results.json", "results/repr_results.json",
        "results/relearn_results.json", "models/ (folder)", "plot layerdrift_by_epoch"})
    EXPECT_NE(html.find(missing), std::string::npos) << missing;
  EXPECT_NE(html.find(">0.970<"), std::string::npos);                   // the summary still renders
  EXPECT_TRUE(is_png(run / "results" / "tradeoff_forget_retain.png"));  // and the plots it can
  EXPECT_FALSE(fs::exists(run / "results" / "quantization_recovery.png"));

  // A broken file is reported as unreadable, not fatal.
  core::write_file_atomic(run / "results" / "repr_results.json", "{not json");
  ASSERT_EQ(test::run_lethe("report --no-plots " + run.string(), &output), 0) << output;
  EXPECT_NE(output.find("repr_results.json: unreadable"), std::string::npos) << output;
  // A run directory that does not exist is a one-line error.
  try {
    write_report(run / "nope", {});
    ADD_FAILURE() << "a run directory that does not exist must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

TEST(ReportHtml, ChromiumRendersEveryImage) {
  const char* chromium = "/usr/bin/chromium";
  ASSERT_TRUE(fs::exists(chromium)) << "install Debian's chromium (scripts/install-deps.sh)";
  const fs::path run = make_run("report_chromium", true);
  const auto out = write_report(run, {});
  ASSERT_EQ(out.images.size(), 7u);
  // A copy of the report with a probe script that marks <body> once every image has decoded.
  std::string html = core::read_file(out.html);
  const std::string probe =
      "<script>window.addEventListener('load',function(){var im=document.images,ok=im.length>0;"
      "for(var i=0;i<im.length;i++){if(!(im[i].complete&&im[i].naturalWidth>0))ok=false;}"
      "document.body.setAttribute('data-images',im.length+':'+(ok?'loaded':'broken'));});</script>";
  html.insert(html.rfind("</body>"), probe);
  const fs::path probed = run / "probe.html";
  core::write_file_atomic(probed, html);
  const fs::path profile = test::make_temp_dir("report_chromium_profile");
  const std::string cmd =
      std::string(chromium) +
      " --headless --no-sandbox --disable-gpu --disable-background-networking "
      "--disable-component-update --disable-sync --no-first-run --virtual-time-budget=5000 "
      "--user-data-dir=" +
      profile.string() + " --dump-dom file://" + fs::absolute(probed).string() + " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_TRUE(pipe);
  std::string dom;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) dom.append(buf, n);
  ::pclose(pipe);
  fs::remove_all(profile);
  EXPECT_NE(dom.find("data-images=\"7:loaded\""), std::string::npos) << dom.substr(0, 400);
  EXPECT_NE(dom.find("id=\"summary\""), std::string::npos);
}

}  // namespace
}  // namespace lethe::report
