// `lethe repr` end to end on a tiny generated world: files, self-drift 0, per-layer files, the
// neuron-level change and --no-neurons, errors.
#include <gtest/gtest.h>

#include "analysis/repr_run.h"
#include "core/error.h"
#include "core/json_io.h"
#include "tiny_world.h"

namespace lethe {
namespace {

using json = nlohmann::json;

const test::TinyWorld& world() {
  static const test::TinyWorld w = test::make_tiny_world("repr_cli");
  return w;
}

TEST(AnalysisRepr, CommandWritesAllAndPerLayerFiles) {
  const auto& w = world();
  const std::string out = (w.root / "repr_results.json").string();
  const std::string args =
      "repr --model " + w.model.string() + " --reference-adapter " + w.adapter_ft.string() +
      " --adapter " + w.adapter_ft.string() + " --name same --adapter " + w.adapter_a.string() +
      " --name other --data " + w.data.string() + " --out " + out + " --batch-size 3";
  std::string output;
  ASSERT_EQ(test::run_lethe(args, &output), 0) << output;
  const json r = core::read_json(out);
  const int64_t L = r["num_layers"].get<int64_t>();
  ASSERT_EQ(L, 2);
  ASSERT_EQ(r["layer_names"].size(), 3u);
  EXPECT_GT(r["examples"]["forget"].get<int64_t>(), 0);
  // The reference against itself: drift 0, cosine 1, the same logit lens and probe accuracy.
  const json& same = r["models"]["same"];
  for (const char* set : {"forget", "retain"}) {
    for (int64_t l = 0; l <= L; ++l) {
      EXPECT_NEAR(same[set]["drift"][l].get<double>(), 0.0, 1e-9) << set << l;
      EXPECT_NEAR(same[set]["cosine"][l].get<double>(), 1.0, 1e-9) << set << l;
    }
    EXPECT_EQ(same[set]["logit_lens"], r["reference"][set]["logit_lens"]);
  }
  // Another adapter drifts from layer 1 on, never at the embeddings.
  const json& other = r["models"]["other"]["forget"];
  EXPECT_NEAR(other["drift"][0].get<double>(), 0.0, 1e-12);
  EXPECT_GT(other["drift"][L].get<double>(), 0.0);
  EXPECT_LT(other["cosine"][L].get<double>(), 1.0);
  // Neuron-level change (on by default): none against itself, some for another adapter. The tiny
  // world's MLP has 64 neurons: the top 1% is 1 neuron, chance 1/64.
  const json& n_other = r["models"]["other"]["neurons"];
  EXPECT_EQ(n_other["top_k"], 1);
  EXPECT_EQ(n_other["intermediate_size"], 64);
  EXPECT_NEAR(n_other["chance_overlap"].get<double>(), 1.0 / 64, 1e-15);
  for (const char* set : {"forget", "correlated", "other"}) {
    SCOPED_TRACE(set);
    EXPECT_GT(n_other[set]["positions"].get<int64_t>(), 0);
    ASSERT_EQ(n_other[set]["share_top1pct"].size(), 2u);
    for (int64_t l = 0; l < 2; ++l) {
      EXPECT_LE(same["neurons"][set]["total_change"][l].get<double>(), 1e-9);
      EXPECT_GT(n_other[set]["total_change"][l].get<double>(), 0.0);
      const double share = n_other[set]["share_top1pct"][l].get<double>();
      EXPECT_GT(share, 0.0);
      EXPECT_LE(share, 1.0);
      ASSERT_EQ(n_other[set]["top_neurons"][l].size(), 1u);
    }
  }
  for (const char* set : {"correlated", "other"}) {
    SCOPED_TRACE(set);
    const json& j = n_other[set];
    ASSERT_EQ(j["overlap_with_forget"].size(), 2u);
    ASSERT_EQ(j["change_ratio_forget_top"].size(), 2u);
    for (int64_t l = 0; l < 2; ++l) {
      // Mean |Δ| over every neuron is total / I; the ratio is at-top over it.
      EXPECT_NEAR(j["change_at_random"][l].get<double>(), j["total_change"][l].get<double>() / 64,
                  1e-12);
      EXPECT_NEAR(
          j["change_ratio_forget_top"][l].get<double>(),
          j["change_at_forget_top"][l].get<double>() / j["change_at_random"][l].get<double>(),
          1e-9);
    }
  }
  EXPECT_FALSE(n_other["forget"].contains("change_ratio_forget_top"));
  EXPECT_TRUE(r["config"]["neurons"].get<bool>());
  // The probe: 4 targets -> incident types; trained on the reference's states.
  ASSERT_TRUE(r["probe"].contains("classes")) << r["probe"].dump();
  ASSERT_EQ(r["probe"]["train_accuracy"].size(), 3u);
  EXPECT_EQ(same["forget"]["probe_accuracy"], r["reference"]["forget"]["probe_accuracy"]);
  for (const auto& a : r["reference"]["forget"]["logit_lens"]["mean_prob"]) {
    EXPECT_GT(a.get<double>(), 0.0);
    EXPECT_LE(a.get<double>(), 1.0);
  }
  // Per-layer files: scalars equal to the all-layer arrays at that index.
  for (const auto& [sel, idx] :
       std::vector<std::pair<std::string, int64_t>>{{"last", 2}, {"middle", 1}}) {
    const json one = core::read_json((w.root / ("repr_results_" + sel + ".json")).string());
    EXPECT_EQ(one["layer_index"].get<int64_t>(), idx);
    EXPECT_EQ(one["models"]["other"]["forget"]["drift"].get<double>(),
              other["drift"][idx].get<double>());
    EXPECT_EQ(one["models"]["other"]["retain"]["logit_lens"]["mean_rank"].get<double>(),
              r["models"]["other"]["retain"]["logit_lens"]["mean_rank"][idx].get<double>());
    EXPECT_EQ(one["probe"]["heldout_accuracy"], r["probe"]["heldout_accuracy"][idx]);
    EXPECT_EQ(one["models"]["other"]["neurons"], n_other);  // per MLP layer, copied unchanged
  }
}

TEST(AnalysisRepr, NoNeuronsLeavesTheSectionOut) {
  const auto& w = world();
  const std::string out = (w.root / "repr_no_neurons.json").string();
  std::string output;
  ASSERT_EQ(test::run_lethe("repr --model " + w.model.string() + " --reference-adapter " +
                                w.adapter_ft.string() + " --adapter " + w.adapter_a.string() +
                                " --data " + w.data.string() + " --out " + out +
                                " --layers all --limit 2 --no-neurons",
                            &output),
            0)
      << output;
  const json r = core::read_json(out);
  EXPECT_FALSE(r["config"]["neurons"].get<bool>());
  ASSERT_EQ(r["models"].size(), 1u);
  EXPECT_FALSE(r["models"]["adapter_a"].contains("neurons"));
  EXPECT_TRUE(r["models"]["adapter_a"]["forget"].contains("drift"));
}

TEST(AnalysisRepr, BadLayerAndMissingFolders) {
  const auto& w = world();
  std::string output;
  const std::string common = "repr --model " + w.model.string() + " --reference-adapter " +
                             w.adapter_ft.string() + " --adapter " + w.adapter_a.string() +
                             " --data " + w.data.string() + " --out " +
                             (w.root / "x.json").string();
  EXPECT_EQ(test::run_lethe(common + " --layers last,7", &output), 2) << output;
  EXPECT_NE(output.find("layer 7 does not exist"), std::string::npos) << output;
  EXPECT_EQ(test::run_lethe(common + " --layers top", &output), 2) << output;
  EXPECT_NE(output.find("unknown layer 'top'"), std::string::npos) << output;
  EXPECT_EQ(test::run_lethe(common + " --adapter /nonexistent/adapter", &output), 1) << output;
  EXPECT_NE(output.find("/nonexistent/adapter"), std::string::npos) << output;
  EXPECT_EQ(analysis::resolve_layer("middle", 24), 12);
  EXPECT_EQ(analysis::resolve_layer("0", 24), 0);
  EXPECT_THROW(analysis::resolve_layer("-1", 24), UsageError);
}

}  // namespace
}  // namespace lethe
