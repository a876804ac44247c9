// Imported MUSE and RWKU folders are dataset folders the commands take: `lethe data import
// muse|rwku` on small folders in each benchmark's layout, then finetune and unlearn on the MUSE
// folder's files with lethe's shipped base model (models/lethe-base) and `lethe eval` of both
// folders with the default metrics: each gets its benchmark's ROUGE variant and leaves out what
// the benchmark does not publish (truth-ratio material, holdout, world questions). Here (not in
// tests/datagen) because it runs the model commands, which the sanitizer build lacks.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/json_io.h"
#include "crash_test_util.h"
#include "datagen/benchmark_layout.h"
#include "expect_close.h"
#include "lethe_source_dir.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool run_ok(const std::vector<std::string>& args) {
  const auto r = test::run_lethe_child(args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.exit_code == 0;
}

TEST(BenchmarkFolder, MuseFolderFinetunesUnlearnsAndEvaluatesWithMuseRouge) {
  const fs::path root = test::make_temp_dir("muse_folder");
  test::write_muse(root / "news");
  const std::string base = (fs::path(LETHE_SOURCE_DIR) / "models" / "lethe-base").string();
  const std::string data = (root / "data").string(), ft = (root / "ft").string(),
                    un = (root / "un").string(), results = (root / "results.json").string();
  ASSERT_TRUE(run_ok({"data", "import", "muse", (root / "news").string(), "--out", data}));
  const std::vector<std::string> train = {"--model",      base, "--epochs",     "1",
                                          "--batch-size", "2",  "--max-length", "64"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), train.begin(), train.end());
    return args;
  };
  ASSERT_TRUE(
      run_ok(with({"finetune", "--data", data + "/sf.jsonl," + data + "/sr.jsonl", "--out", ft})));
  ASSERT_TRUE(run_ok(with({"unlearn", "--adapter", ft, "--method", "grad_diff", "--forget",
                           data + "/sf.jsonl", "--retain", data + "/sr.jsonl", "--out", un})));
  ASSERT_TRUE(run_ok({"eval", "--model", base, "--adapter", un, "--name", "unlearned", "--data",
                      data, "--out", results, "--max-new-tokens", "8"}));

  const json r = core::read_json(results);
  for (const char* model : {"base", "unlearned"}) {
    SCOPED_TRACE(model);
    const json& a = r["models"][model]["aggregates"];
    EXPECT_EQ(a["forget"]["n"], 5);
    EXPECT_EQ(a["retain"]["n"], 2);
    for (const char* key : {"muse_rouge_l_f", "muse_rouge_l_f_knowmem", "muse_rouge_l_f_verbmem"}) {
      ASSERT_TRUE(a["forget"].contains(key)) << key << " " << a["forget"].dump();
      const double v = a["forget"][key].get<double>();
      EXPECT_TRUE(v >= 0 && v <= 1) << key << " " << v;
    }
    EXPECT_TRUE(a["retain"].contains("muse_rouge_l_f_knowmem"));
    EXPECT_FALSE(a["retain"].contains("muse_rouge_l_f_verbmem"));
    EXPECT_TRUE(a["forget"].contains("rouge_l_recall"));  // lethe's own metrics stay
    // MUSE publishes no truth-ratio material, holdout or world set: those metrics are left out.
    EXPECT_FALSE(a["forget"].contains("truth_ratio"));
    EXPECT_FALSE(a.contains("model_utility"));
    EXPECT_FALSE(a.contains("mia"));
    EXPECT_FALSE(a["forget"].contains("rwku_rouge_l_recall"));
    // The per-example value is MUSE's ROUGE of that question's generation.
    const json& rows = r["models"][model]["per_example"]["forget"];
    ASSERT_EQ(rows.size(), 5u);
    double sum = 0;
    for (const auto& row : rows) sum += row["muse_rouge_l_f"].get<double>();
    EXPECT_NEAR(a["forget"]["muse_rouge_l_f"].get<double>(), sum / 5, 1e-12);
  }
  fs::remove_all(root);
}

TEST(BenchmarkFolder, RwkuFolderEvaluatesWithRwkuRougePerLevel) {
  const fs::path root = test::make_temp_dir("rwku_folder");
  test::write_rwku(root / "All");
  const std::string base = (fs::path(LETHE_SOURCE_DIR) / "models" / "lethe-base").string();
  const std::string data = (root / "data").string(), results = (root / "results.json").string();
  ASSERT_TRUE(run_ok({"data", "import", "rwku", (root / "All").string(), "--out", data}));
  ASSERT_TRUE(
      run_ok({"eval", "--model", base, "--data", data, "--out", results, "--max-new-tokens", "8"}));
  const json a = core::read_json(results)["models"]["base"]["aggregates"];
  EXPECT_EQ(a["forget"]["n"], 8);
  for (const char* key : {"rwku_rouge_l_recall", "rwku_rouge_l_recall_level1",
                          "rwku_rouge_l_recall_level2", "rwku_rouge_l_recall_level3"})
    EXPECT_TRUE(a["forget"].contains(key)) << key << " " << a["forget"].dump();
  EXPECT_TRUE(a["retain"].contains("rwku_rouge_l_recall_level2"));
  EXPECT_FALSE(a["retain"].contains("rwku_rouge_l_recall_level3"));
  EXPECT_FALSE(a["forget"].contains("muse_rouge_l_f"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace lethe
