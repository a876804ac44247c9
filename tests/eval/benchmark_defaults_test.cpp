// The default metric set of a dataset folder (eval::default_metrics_for): unchanged for a generated
// lethe folder, the benchmark's own variants and only what the folder can give for an imported
// MUSE or RWKU folder.
#include <gtest/gtest.h>

#include "eval/evaluator.h"

namespace lethe {
namespace {

using json = nlohmann::json;

TEST(BenchmarkMetrics, DefaultSetsFollowTheFolder) {
  // A generated lethe folder (every file, no benchmark): exactly the registry's default set, so
  // its results are unchanged; the benchmark variants are not in it.
  data::Dataset lethe_folder;
  lethe_folder.sf.resize(1);
  lethe_folder.wrong_details.resize(1);
  lethe_folder.holdout.resize(1);
  lethe_folder.world.resize(1);
  lethe_folder.manifest = json{{"generator", "lethe_offline"}};
  for (bool retain : {false, true}) {
    const auto all = eval::default_metrics_for(lethe_folder, retain);
    EXPECT_EQ(all, eval::resolve_metrics({}, retain));
    EXPECT_FALSE(all.count("muse_rouge") || all.count("rwku_rouge") || all.count("muse_privleak") ||
                 all.count("tofu_model_utility"));
  }
  // A MUSE folder: no truth-ratio material, holdout or world questions. Its ROUGE is in; what it
  // cannot give (truth ratio, MIA, model utility, PrivLeak of either kind) is out.
  data::Dataset muse = lethe_folder;
  muse.wrong_details.clear();
  muse.holdout.clear();
  muse.world.clear();
  muse.manifest = json{{"benchmark", "muse"}};
  const auto m = eval::default_metrics_for(muse, true);
  EXPECT_TRUE(m.count("muse_rouge") && m.count("rouge_l") && m.count("answer_prob") &&
              m.count("exact_memorization") && m.count("probes"));
  for (const char* out : {"truth_ratio", "forget_quality", "model_utility", "mia_loss", "mia_min_k",
                          "privleak", "muse_privleak", "rwku_rouge"})
    EXPECT_FALSE(m.count(out)) << out;
  // With a holdout set MUSE's PrivLeak comes back (with the retain-only model).
  muse.holdout.resize(1);
  EXPECT_TRUE(eval::default_metrics_for(muse, true).count("muse_privleak"));
  EXPECT_FALSE(eval::default_metrics_for(muse, false).count("muse_privleak"));
  data::Dataset rwku = muse;
  rwku.manifest = json{{"benchmark", "rwku"}};
  const auto r = eval::default_metrics_for(rwku, false);
  EXPECT_TRUE(r.count("rwku_rouge") && !r.count("muse_rouge"));
  // A TOFU folder (manifest benchmark "tofu", every file): TOFU's 9-way model utility joins the
  // default set beside lethe's own.
  data::Dataset tofu = lethe_folder;
  tofu.manifest = json{{"benchmark", "tofu"}};
  const auto t = eval::default_metrics_for(tofu, false);
  EXPECT_TRUE(t.count("tofu_model_utility") && t.count("model_utility"));
  EXPECT_FALSE(eval::default_metrics_for(lethe_folder, false).count("tofu_model_utility"));
  // Asked for by name, a variant runs on any folder.
  EXPECT_TRUE(eval::resolve_metrics({"rwku_rouge"}, false).count("rwku_rouge"));
}

}  // namespace
}  // namespace lethe
