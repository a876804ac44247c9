// `lethe run --quick` end to end on the shipped base model (models/lethe-base): the files of the
// run folder, that the numbers make sense (fine-tuned forget ROUGE-L high, heavy GA far lower,
// retain-only low, the base answers its world), and that re-running reuses every stage.
#include <gtest/gtest.h>

#include "core/json_io.h"
#include "core/progress.h"
#include "expect_close.h"
#include "pipeline/pipeline.h"
#include "pipeline/run_config.h"
#include "lethe_source_dir.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace lethe;

namespace {

class PipelineRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    core::Progress::set_quiet(true);
    dir_ = new fs::path(test::make_temp_dir("pipeline_e2e"));
    // The model a user gets: lethe's shipped base model (models/lethe-base, docs/base_model.md).
    base_ = new fs::path(fs::path(LETHE_SOURCE_DIR) / "models" / "lethe-base");
    pipeline::RunOptions o;
    o.quick = true;
    o.model = base_->string();
    o.out = *dir_ / "run";
    first_ = new pipeline::RunSummary(pipeline::run_pipeline(o));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete first_;
    delete base_;
  }
  static const pipeline::StageOutcome* stage(const std::string& name) {
    for (const auto& s : first_->stages)
      if (s.name == name) return &s;
    return nullptr;
  }
  static bool available(const std::string& name) {
    const auto a = pipeline::available_stages();
    return std::find(a.begin(), a.end(), name) != a.end();
  }
  static double agg(const json& eval, const std::string& model, const std::string& path) {
    const json& m = eval["models"].at(model)["aggregates"];
    return m.at(json::json_pointer("/" + path)).get<double>();
  }
  static fs::path* dir_;
  static fs::path* base_;
  static pipeline::RunSummary* first_;
};
fs::path* PipelineRun::dir_ = nullptr;
fs::path* PipelineRun::base_ = nullptr;
pipeline::RunSummary* PipelineRun::first_ = nullptr;

TEST_F(PipelineRun, EveryStageRanOrSaysWhyNot) {
  for (const char* name : {"data", "finetune", "retain_only", "unlearn", "eval", "relearn",
                           "quantize", "repr", "report"}) {
    const auto* s = stage(name);
    ASSERT_NE(s, nullptr) << name;
    if (available(name)) {
      EXPECT_EQ(s->status, "done") << name << ": " << s->detail;
    } else {
      EXPECT_EQ(s->status, "unavailable") << name;
      EXPECT_NE(s->detail.find("unavailable"), std::string::npos) << s->detail;
    }
  }
  EXPECT_EQ(first_->failed, 0);
  std::printf("[quick run: %.1f s]\n", first_->seconds);
}

TEST_F(PipelineRun, WritesTheStudyLayout) {
  const fs::path run = *dir_ / "run";
  for (const char* file : {"config.yaml", "run.json", "data/sf.jsonl", "data/sr.jsonl",
                           "data/manifest.json", "models/finetuned_adapter/adapter_config.json",
                           "models/finetuned_adapter/adapter_model.safetensors",
                           "models/retain_only_adapter/adapter_model.safetensors",
                           "results/eval_results.json", "results/retain_compare_results.json",
                           "stages/data/stage_done.json", "stages/eval/stage_done.json"})
    EXPECT_TRUE(fs::exists(run / file)) << file;
  for (const auto& e : fs::directory_iterator(run / "stages"))
    EXPECT_EQ(e.path().extension(), "") << "leftover partial folder " << e.path();
  const json compare = core::read_json(run / "results" / "retain_compare_results.json");
  EXPECT_TRUE(compare["models"].contains("finetuned"));
  if (available("unlearn")) {
    for (const char* m : {"grad_ascent", "grad_diff", "npo"})
      for (const char* c : {"light", "medium", "heavy"})
        EXPECT_TRUE(fs::exists(run / "models" / (std::string("unlearn_") + m + "_" + c) /
                               "adapter_model.safetensors"))
            << m << " " << c;
    const json sweep = core::read_json(run / "results" / "sweep_results.json");
    EXPECT_EQ(sweep["configs"].size(), 9u);
  }
  if (available("relearn"))
    EXPECT_TRUE(fs::exists(run / "results" / "relearn_results_unlearn_grad_ascent_heavy.json"));
  if (available("quantize")) EXPECT_TRUE(fs::exists(run / "results" / "quantize_results.json"));
  if (available("repr")) {
    EXPECT_TRUE(fs::exists(run / "results" / "repr_results.json"));
    EXPECT_TRUE(fs::exists(run / "results" / "repr_results_last.json"));
  }
  if (available("report")) {
    EXPECT_TRUE(fs::exists(run / "report.html"));
    EXPECT_TRUE(fs::exists(run / "results" / "plots"));
  }
  // The resolved config is saved with the run and is what was run.
  EXPECT_EQ(core::read_json(run / "run.json")["seed"], 42);
}

TEST_F(PipelineRun, NumbersMakeSense) {
  const json eval = core::read_json(*dir_ / "run" / "results" / "eval_results.json");
  std::string retain_name;
  for (auto it = eval["models"].begin(); it != eval["models"].end(); ++it)
    if (it.value().value("retain_reference", false)) retain_name = it.key();
  ASSERT_FALSE(retain_name.empty());
  const double ft = agg(eval, "finetuned", "forget/rouge_l_recall");
  const double retain_only = agg(eval, retain_name, "forget/rouge_l_recall");
  std::printf("[forget ROUGE-L: finetuned %.3f, retain-only %.3f]\n", ft, retain_only);
  EXPECT_GT(ft, 0.6);                // the fine-tuned model learnt the forget set
  EXPECT_LT(retain_only, ft - 0.3);  // the gold model never saw it
  EXPECT_GT(agg(eval, "finetuned", "retain/rouge_l_recall"), 0.5);
  // The base model answers its world (the model-utility questions), and the LoRA keeps that.
  EXPECT_GT(agg(eval, "base", "world/rouge_l_recall"), 0.8);
  EXPECT_GT(agg(eval, "finetuned", "world/rouge_l_recall"), 0.6);
  if (available("unlearn")) {
    const double ga = agg(eval, "unlearn_grad_ascent_heavy", "forget/rouge_l_recall");
    std::printf("[forget ROUGE-L: grad_ascent heavy %.3f]\n", ga);
    EXPECT_LT(ga, 0.5 * ft);  // heavy gradient ascent forgot most of it
  }
  // The summary rows are the evaluation's numbers.
  ASSERT_FALSE(first_->rows.empty());
  EXPECT_EQ(first_->rows.size(), eval["models"].size());
}

TEST_F(PipelineRun, RerunningReusesEveryStage) {
  const fs::path run = *dir_ / "run";
  std::map<std::string, fs::file_time_type> before;
  for (const auto& e : fs::recursive_directory_iterator(run))
    if (e.is_regular_file() && e.path().filename() != "run.json" &&
        e.path().filename() != "config.yaml")
      before[e.path().string()] = e.last_write_time();
  std::string output;
  ASSERT_EQ(
      test::run_lethe("--quiet run --quick --model " + base_->string() + " --out " + run.string(),
                      &output),
      0)
      << output;
  EXPECT_EQ(output.find(" done "), std::string::npos) << output;
  EXPECT_NE(output.find("reused"), std::string::npos) << output;
  EXPECT_NE(output.find("finetuned"), std::string::npos) << output;  // the summary table
  EXPECT_NE(output.find("forget_RL"), std::string::npos) << output;
  for (const auto& [path, time] : before) {
    ASSERT_TRUE(fs::exists(path)) << path;
    EXPECT_EQ(fs::last_write_time(path), time) << path;
  }
}

}  // namespace
