// Report: plots from synthetic result files, the HTML table values, a run directory with missing
// pieces, and report.html rendered by headless Chromium with every image loaded.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "expect_close.h"
#include "report/plots.h"
#include "report/report_writer.h"
#include "report/training_evals.h"

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

// repr_results.json in repr_run.cpp's layout (2 layers: entries 0..2), for grad_ascent at
// 5/10/20 epochs; a model's forget-question values are listed per layer.
json repr_document() {
  const char* names[] = {"unlearn_grad_ascent_lr1e-05_ep5", "unlearn_grad_ascent_lr1e-05_ep10",
                         "unlearn_grad_ascent_lr1e-05_ep20"};
  const std::vector<std::vector<double>> drift = {{0, 0.05, 0.2}, {0, 0.1, 0.4}, {0, 0.15, 0.6}},
                                         rank = {{900, 4, 50}, {900, 14, 100}, {900, 24, 150}},
                                         prob = {{0.001, 0.3, 0.05},
                                                 {0.001, 0.2, 0.04},
                                                 {0.001, 0.1, 0.03}},
                                         probe = {{0.25, 0.85, 0.6},
                                                  {0.25, 0.65, 0.5},
                                                  {0.25, 0.45, 0.4}};
  json doc = {{"num_layers", 2},
              {"layer", "all"},
              {"layer_names", {"embeddings", "layer_1", "layer_2"}},
              {"probe",
               {{"attribute", "incident_type"},
                {"classes", {"bribery", "fraud", "perjury", "theft"}},
                {"heldout_accuracy", {0.25, 0.75, 0.8}}}},
              {"reference",
               {{"forget",
                 {{"logit_lens",
                   {{"median_rank", {900, 2, 1}},
                    {"mean_rank", {1200, 5, 1.5}},
                    {"mean_prob", {0.001, 0.4, 0.9}}}},
                  {"probe_accuracy", {0.25, 0.9, 1.0}}}}}},
              {"models", json::object()}};
  for (int i = 0; i < 3; ++i)
    doc["models"][names[i]] = {{"forget",
                                {{"drift", drift[i]},
                                 {"cosine", {1, 0.99, 0.9}},
                                 {"logit_lens", {{"median_rank", rank[i]}, {"mean_prob", prob[i]}}},
                                 {"probe_accuracy", probe[i]}}},
                               {"retain", {{"drift", {0, 0.01, 0.02}}}}};
  // The neuron-level change (neurons_json's layout; arrays per MLP layer 1..2, 200 neurons).
  for (int i = 0; i < 3; ++i)
    doc["models"][names[i]]["neurons"] = {{"layers", {"layer_1", "layer_2"}},
                                          {"intermediate_size", 200},
                                          {"top_k", 2},
                                          {"chance_overlap", 0.01},
                                          {"forget",
                                           {{"positions", 40},
                                            {"share_top1pct", {0.1 + 0.1 * i, 0.5 + 0.1 * i}},
                                            {"top_neurons", {{5, 6}, {17 + i, 3}}}}},
                                          {"correlated",
                                           {{"positions", 30},
                                            {"share_top1pct", {0.2, 0.3}},
                                            {"overlap_with_forget", {0.5, 1.0}},
                                            {"change_ratio_forget_top", {4.0, 12.5 + i}}}},
                                          {"other",
                                           {{"positions", 50},
                                            {"share_top1pct", {0.2, 0.2}},
                                            {"overlap_with_forget", {0.0, 0.5}},
                                            {"change_ratio_forget_top", {1.0, 2.0}}}}};
  return doc;
}

// repr_results_<selector>.json: the document with every per-layer array replaced by one entry.
json repr_layer_document(const json& full, const std::string& selector, int index) {
  json doc = full;
  std::function<void(json&)> pick = [&](json& j) {
    if (!j.is_object()) return;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it->is_array() && it->size() == 3 && (*it)[0].is_number())
        *it = (*it)[index];
      else
        pick(*it);
    }
  };
  pick(doc);
  doc["layer"] = selector;
  doc["layer_index"] = index;
  doc["layer_name"] = full["layer_names"][index];
  return doc;
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
  const json repr = repr_document();
  core::write_json(run / "results" / "repr_results.json", repr);
  core::write_json(run / "results" / "repr_results_last.json",
                   repr_layer_document(repr, "last", 2));
  core::write_json(run / "results" / "repr_results_middle.json",
                   repr_layer_document(repr, "middle", 1));
  core::write_json(
      run / "results" / "quantize_results.json",
      {{"models",
        {{"unlearn_grad_ascent_lr1e-05_ep20",
          {{"schemes",
            {{"int4",
              {{"recovery", {{"forget_rouge_l_recall", {{"before", 0.12}, {"after", 0.55}}}}}}},
             {"nf4",
              {{"recovery",
                {{"forget_rouge_l_recall", {{"before", 0.12}, {"after", 0.48}}}}}}}}}}}}}});
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
       {"layerdrift_by_epoch", "layerdrift_by_method", "logit_lens_rank", "logit_lens_prob",
        "probe_accuracy_by_layer", "probe_accuracy_by_model", "neuron_concentration",
        "neuron_overlap", "tradeoff_forget_retain", "retain_correlated_vs_other", "drop_curve",
        "quantization_recovery", "relearning_curves", "mia_roc"}) {
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
  EXPECT_EQ(out.images.size(), 14u);
  // The replot data holds the numbers: quantization before/after per scheme.
  const std::string csv = core::read_file(run / "results" / "quantization_recovery.csv");
  EXPECT_NE(csv.find("unlearn_grad_ascent_lr1e-05_ep20/int4,0.12,0.55"), std::string::npos) << csv;
  for (const auto& m : out.missing) EXPECT_EQ(m.find("plot "), std::string::npos) << m;
}

// The intensity curve's chart: each subset's drop from the fine-tuned model, starting at it
// (epoch 0, drop 0). make_run: fine-tuned forget 0.97, correlated 0.91, other 0.93; grad_ascent
// at 5/10/20 epochs forget 0.61/0.33/0.12, correlated 0.80/0.60/0.40, other 0.85/0.80/0.75.
TEST(ReportPlots, DropCurveStartsAtTheFineTunedModel) {
  const fs::path run = make_run("report_drop_curve", true);
  write_report(run, {});
  const std::string dat = core::read_file(run / "results" / "drop_curve.dat");
  EXPECT_NE(dat.find("# grad_ascent forget\n0\t0\n5\t0.36\n10\t0.64\n20\t0.85\n"),
            std::string::npos)
      << dat;
  EXPECT_NE(dat.find("# grad_ascent correlated\n0\t0\n5\t0.11\n10\t0.31\n20\t0.51\n"),
            std::string::npos)
      << dat;
  EXPECT_NE(dat.find("# grad_ascent other\n0\t0\n5\t0.08\n10\t0.13\n20\t0.18\n"), std::string::npos)
      << dat;
  // Without the fine-tuned model there is nothing to measure the drop from: skipped, with why.
  const fs::path bare = make_run("report_drop_curve_bare", true);
  json results = core::read_json(bare / "results" / "eval_results.json");
  results["models"].erase("finetuned");
  core::write_json(bare / "results" / "eval_results.json", results);
  const auto out = write_report(bare, {});
  EXPECT_FALSE(fs::exists(bare / "results" / "drop_curve.dat"));
  bool said = false;
  for (const auto& m : out.missing) said = said || m.find("drop_curve: needs") != std::string::npos;
  EXPECT_TRUE(said);
  fs::remove_all(run);
  fs::remove_all(bare);
}

// The numbers the representation-analysis charts hand to gnuplot, and their place in the report.
TEST(ReportPlots, LogitLensAndProbeChartsHoldTheAnalysisNumbers) {
  const fs::path run = make_run("report_repr", true);
  const auto out = write_report(run, {});
  const fs::path results = run / "results";
  const std::string ga20 = "unlearn_grad_ascent_lr1e-05_ep20";

  // Logit lens rank: one block per model (reference first, then by epochs), x = layer.
  const std::string rank_dat = core::read_file(results / "logit_lens_rank.dat");
  EXPECT_EQ(rank_dat.find("# finetuned (reference)\n0\t900\n1\t2\n2\t1\n"), 0u) << rank_dat;
  const size_t ep5 = rank_dat.find("# unlearn_grad_ascent_lr1e-05_ep5\n0\t900\n1\t4\n2\t50\n");
  const size_t ep10 = rank_dat.find("# unlearn_grad_ascent_lr1e-05_ep10\n");
  const size_t ep20 = rank_dat.find("# " + ga20 + "\n0\t900\n1\t24\n2\t150\n");
  ASSERT_NE(ep5, std::string::npos) << rank_dat;
  ASSERT_NE(ep20, std::string::npos) << rank_dat;
  EXPECT_LT(ep5, ep10);
  EXPECT_LT(ep10, ep20);
  EXPECT_NE(core::read_file(results / "logit_lens_rank.gp").find("set logscale y"),
            std::string::npos);
  const std::string prob_csv = core::read_file(results / "logit_lens_prob.csv");
  for (const std::string& line : {std::string("finetuned (reference),2,0.9\n"), ga20 + ",1,0.1\n"})
    EXPECT_NE(prob_csv.find(line), std::string::npos) << line << prob_csv;

  // Probe per layer: each model, the fine-tuned held-out accuracy and chance (1/4 classes).
  const std::string layer_csv = core::read_file(results / "probe_accuracy_by_layer.csv");
  for (const std::string& line :
       {std::string("finetuned (reference),1,0.9\n"), ga20 + ",1,0.45\n", ga20 + ",2,0.4\n",
        std::string("finetuned held-out questions,2,0.8\n"), std::string("chance,0,0.25\n"),
        std::string("chance,2,0.25\n")})
    EXPECT_NE(layer_csv.find(line), std::string::npos) << line << layer_csv;
  EXPECT_NE(core::read_file(results / "probe_accuracy_by_layer.gp").find("dt 2"),
            std::string::npos);

  // Probe per model from repr_results_<layer>.json, series in layer order (middle 1, last 2).
  const std::string bars = core::read_file(results / "probe_accuracy_by_model.csv");
  EXPECT_EQ(bars.rfind("category,middle (layer_1),last (layer_2)\n", 0), 0u) << bars;
  for (const std::string& line :
       {std::string("finetuned (reference),0.9,1\n"),
        std::string("unlearn_grad_ascent_lr1e-05_ep5,0.85,0.6\n"), ga20 + ",0.45,0.4\n"})
    EXPECT_NE(bars.find(line), std::string::npos) << line << bars;

  // The report embeds each chart with its caption, in HTML and Markdown.
  const std::string html = core::read_file(out.html), md = core::read_file(out.markdown);
  for (const char* name : {"logit_lens_rank", "logit_lens_prob", "probe_accuracy_by_layer",
                           "probe_accuracy_by_model"}) {
    SCOPED_TRACE(name);
    EXPECT_NE(html.find(std::string("<figure id=\"plot-") + name + "\"><img"), std::string::npos);
    EXPECT_NE(html.find(std::string("<code>") + name + ".csv</code>"), std::string::npos);
    EXPECT_NE(md.find(std::string("(results/") + name + ".png)"), std::string::npos);
  }
  EXPECT_NE(html.find("Erased: the answer stays far down the ranking"), std::string::npos);
  EXPECT_NE(html.find("down at chance = erased"), std::string::npos);
  EXPECT_NE(html.find("Linear probe (incident_type) on forget questions: heaviest grad_ascent "
                      "reads it with accuracy 0.45 at layer 1 (fine-tuned model: 0.90); chance "
                      "0.25."),
            std::string::npos);
}

// The neuron charts and table hold repr_results.json's models.NAME.neurons numbers (x = MLP layer
// 1..2), the k / I reference lines, and the table's last-layer columns in HTML and Markdown.
TEST(ReportPlots, NeuronChartsAndTableHoldTheNeuronNumbers) {
  const fs::path run = make_run("report_neurons", true);
  const auto out = write_report(run, {});
  const fs::path results = run / "results";
  const std::string ga5 = "unlearn_grad_ascent_lr1e-05_ep5",
                    ga20 = "unlearn_grad_ascent_lr1e-05_ep20";
  const std::string share = core::read_file(results / "neuron_concentration.csv");
  for (const std::string& line : {ga5 + ",1,0.1\n", ga5 + ",2,0.5\n", ga20 + ",2,0.7\n",
                                  std::string("every neuron moved equally,2,0.01\n")})
    EXPECT_NE(share.find(line), std::string::npos) << line << share;
  EXPECT_EQ(share.find("finetuned (reference)"), std::string::npos) << share;
  const std::string overlap = core::read_file(results / "neuron_overlap.csv");
  for (const std::string& line : {ga20 + " correlated,2,1\n", ga20 + " other,1,0\n",
                                  std::string("chance (random neurons),1,0.01\n")})
    EXPECT_NE(overlap.find(line), std::string::npos) << line << overlap;

  const std::string html = core::read_file(out.html), md = core::read_file(out.markdown);
  EXPECT_NE(html.find("<table id=\"neurons\">"), std::string::npos);
  EXPECT_NE(html.find("<th>top-1% share, layer_2</th>"), std::string::npos);
  // ep20: share 0.7 (last), mean (0.3 + 0.7) / 2, overlaps 1 / 0.5, ratios 14.5 / 2, ids 19, 3.
  EXPECT_NE(html.find("<tr><td>" + ga20 +
                      "</td><td class=\"num\">0.700</td><td class=\"num\">0.500</td><td "
                      "class=\"num\">1.000</td><td class=\"num\">0.500</td><td "
                      "class=\"num\">14.50</td><td class=\"num\">2.00</td><td>19, 3</td></tr>"),
            std::string::npos)
      << html;
  EXPECT_NE(md.find("| " + markdown_escape(ga20) +
                    " | 0.700 | 0.500 | 1.000 | 0.500 | 14.50 | 2.00 | 19, 3 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("top 2 of 200 neurons"), std::string::npos);
  for (const char* name : {"neuron_concentration", "neuron_overlap"})
    EXPECT_NE(html.find(std::string("<figure id=\"plot-") + name + "\"><img"), std::string::npos);

  // Results without the section: the charts are skipped saying why, no table.
  RunResults bare;
  bare.repr = repr_document();
  for (auto& [name, m] : bare.repr["models"].items()) m.erase("neurons");
  std::vector<std::string> skipped;
  for (const auto& c : build_charts(bare, &skipped))
    EXPECT_EQ(c.name.rfind("neuron_", 0), std::string::npos);
  int said = 0;
  for (const auto& s : skipped) said += s.find("lethe repr --neurons") != std::string::npos;
  EXPECT_EQ(said, 2);
}

TEST(ReportPlots, ProbeBarsFallBackToTheLastLayerAndSkippedProbesSayWhy) {
  RunResults run;
  run.repr = repr_document();
  std::vector<std::string> skipped;
  auto charts = build_charts(run, &skipped);
  const Chart* bars = nullptr;
  for (const auto& c : charts)
    if (c.name == "probe_accuracy_by_model") bars = &c;
  ASSERT_NE(bars, nullptr);  // no repr_results_<layer>.json: the last entry of each array
  ASSERT_EQ(bars->series.size(), 1u);
  EXPECT_EQ(bars->series[0].label, "last (layer_2)");
  ASSERT_EQ(bars->categories.size(), 4u);
  EXPECT_EQ(bars->categories[0], "finetuned (reference)");
  EXPECT_CLOSE("last layer", bars->series[0].y, std::vector<double>({1.0, 0.6, 0.5, 0.4}), 0.0);

  run.repr = repr_document();
  run.repr["probe"] = {{"attribute", "incident_type"},
                       {"skipped", "fewer than 2 incident types among the labelled questions"}};
  for (auto& [name, m] : run.repr["models"].items()) m["forget"].erase("probe_accuracy");
  run.repr["reference"]["forget"].erase("probe_accuracy");
  skipped.clear();
  charts = build_charts(run, &skipped);
  bool lens = false;
  for (const auto& c : charts) {
    EXPECT_EQ(c.name.find("probe_"), std::string::npos) << c.name;
    lens |= c.name == "logit_lens_rank";
  }
  EXPECT_TRUE(lens);
  bool why = false;
  for (const auto& s : skipped)
    why |= s.find("probe_accuracy_by_layer") == 0 &&
           s.find("probe skipped: fewer than 2 incident types") != std::string::npos;
  EXPECT_TRUE(why);
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
  EXPECT_NE(html.find("reduced forget ROUGE-L from 0.97 to 0.12 while correlated retain "
                      "dropped 0.33 more"),
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

// Evaluation rows of the unlearning runs (lethe unlearn --eval-every) give the curves chart and
// the "Evaluation during unlearning" table; a run without them shows neither and misses nothing.
TEST(ReportHtml, TrainingEvalRowsGiveCurvesAndTheStopStep) {
  const fs::path run = make_run("report_training_eval", true);
  {
    const auto plain = read_run(run);
    std::vector<std::string> skipped;
    for (const auto& c : build_charts(plain, &skipped)) EXPECT_NE(c.name, "training_eval_curves");
    for (const auto& s : skipped) EXPECT_EQ(s.find("training_eval"), std::string::npos) << s;
    EXPECT_TRUE(training_eval_summaries(plain).empty());
  }
  fs::create_directories(run / "results" / "unlearn_metrics");
  std::string rows;
  const double forget[] = {0.9, 0.6, 0.3, 0.15};
  for (int i = 0; i < 4; ++i) {
    rows += json({{"step", 5 * i}, {"loss", 1.0}}).dump() + "\n";  // a loss row: ignored
    rows += json({{"kind", "eval"},
                  {"step", 5 * i},
                  {"forget_rouge_l", forget[i]},
                  {"retain_rouge_l", 0.95 - 0.01 * i},
                  {"stop_met", i == 3}})
                .dump() +
            "\n";
  }
  core::write_file_atomic(run / "results" / "unlearn_metrics" / "npo.jsonl", rows);
  json configs = core::read_json(run / "results" / "sweep_index.json")["configs"];
  configs.push_back({{"name", "unlearn_npo_heavy"},
                     {"method", "npo"},
                     {"stop_when", "forget_rouge_l<=0.2"},
                     {"stop_step", 15}});
  core::write_json(run / "results" / "sweep_index.json", {{"configs", configs}});
  // Without a criterion: curves only (grad_ascent evaluated, no stop_when).
  core::write_file_atomic(
      run / "results" / "unlearn_metrics" / "grad_ascent.jsonl",
      json({{"kind", "eval"}, {"step", 0}, {"forget_rouge_l", 0.9}}).dump() + "\n");

  const auto results = read_run(run);
  const auto summaries = training_eval_summaries(results);
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[0].method, "grad_ascent");
  EXPECT_FALSE(summaries[0].stop_step.has_value());
  EXPECT_EQ(summaries[1].method, "npo");
  EXPECT_EQ(summaries[1].stop_when, "forget_rouge_l<=0.2");
  ASSERT_TRUE(summaries[1].stop_step.has_value());
  EXPECT_EQ(*summaries[1].stop_step, 15);
  EXPECT_EQ(summaries[1].evaluations, 4);
  EXPECT_DOUBLE_EQ(*summaries[1].forget_rouge_l, 0.15);
  EXPECT_DOUBLE_EQ(*summaries[1].retain_rouge_l, 0.92);
  std::vector<std::string> skipped;
  const auto charts = build_charts(results, &skipped);
  const Chart* curves = nullptr;
  for (const auto& c : charts)
    if (c.name == "training_eval_curves") curves = &c;
  ASSERT_NE(curves, nullptr);
  ASSERT_EQ(curves->series.size(), 3u);  // grad_ascent forget; npo forget and retain
  EXPECT_EQ(curves->series[1].label, "npo forget");
  EXPECT_EQ(curves->series[1].x, (std::vector<double>{0, 5, 10, 15}));
  EXPECT_EQ(curves->series[1].y, (std::vector<double>{0.9, 0.6, 0.3, 0.15}));
  EXPECT_EQ(curves->series[2].label, "npo retain");
  EXPECT_EQ(curves->series[2].dash_type, 2);
  EXPECT_NE(curves->note.find("npo met it at step 15"), std::string::npos) << curves->note;

  ReportOptions options;
  options.plots = false;
  const auto out = write_report(run, options);
  const std::string md = core::read_file(out.markdown);
  EXPECT_NE(md.find("### Evaluation during unlearning"), std::string::npos);
  EXPECT_NE(md.find("| npo | `forget_rouge_l<=0.2` | 15 | 4 | 0.150 | 0.920 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| grad\\_ascent | - | - | 1 | 0.900 |"), std::string::npos) << md;
  EXPECT_NE(core::read_file(out.html).find("id=\"training-evals\""), std::string::npos);
  fs::remove_all(run);
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
  ASSERT_EQ(out.images.size(), 14u);
  // A copy of the report with a probe script that marks <body> once every image has decoded.
  std::string html = core::read_file(out.html);
  const std::string probe =
      "<script>window.addEventListener('load',function(){var "
      "im=document.images,ok=im.length>0;"
      "for(var i=0;i<im.length;i++){if(!(im[i].complete&&im[i].naturalWidth>0))ok=false;}"
      "document.body.setAttribute('data-images',im.length+':'+(ok?'loaded':'broken'));});</"
      "script>";
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
  EXPECT_NE(dom.find("data-images=\"14:loaded\""), std::string::npos) << dom.substr(0, 400);
  EXPECT_NE(dom.find("id=\"summary\""), std::string::npos);
}

}  // namespace
}  // namespace lethe::report
