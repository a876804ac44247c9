// `lethe quantize-eval` end to end on a tiny generated world: before/after metrics, recovery,
// sizes, and errors for unknown schemes.
#include "quant/quantize_eval.h"

#include <gtest/gtest.h>

#include "analysis/tiny_world.h"
#include "core/json_io.h"

namespace lethe {
namespace {

using json = nlohmann::json;

TEST(QuantEval, CommandReportsBeforeAfterAndRecovery) {
  const auto w = test::make_tiny_world("quantize_eval");
  const std::string out = (w.root / "quantize_results.json").string();
  const std::string common = "quantize-eval --model " + w.model.string() + " --data " +
                             w.data.string() + " --max-new-tokens 4 --limit 3 --batch-size 4";
  std::string output;
  ASSERT_EQ(test::run_lethe(common + " --adapter " + w.adapter_a.string() + " --name a" +
                                " --reference-adapter " + w.adapter_ft.string() +
                                " --schemes int8,int8_outlier,nf4 --out " + out,
                            &output),
            0)
      << output;
  EXPECT_NE(output.find("a @ nf4: forget ROUGE-L"), std::string::npos) << output;
  const json r = core::read_json(out);
  ASSERT_TRUE(r["models"].contains("a"));
  ASSERT_TRUE(r["models"].contains("reference"));
  const json& a = r["models"]["a"];
  const double before_tr = a["full"]["summary"]["forget_truth_ratio"].get<double>();
  for (const char* scheme : {"int8", "int8_outlier", "nf4"}) {
    const json& s = a["schemes"][scheme];
    const json& rec = s["recovery"]["forget_truth_ratio"];
    EXPECT_EQ(rec["before"].get<double>(), before_tr) << scheme;
    EXPECT_EQ(rec["after"].get<double>(), s["summary"]["forget_truth_ratio"].get<double>());
    EXPECT_NEAR(rec["delta"].get<double>(), rec["after"].get<double>() - before_tr, 1e-12);
    EXPECT_TRUE(rec.contains("recovered_fraction")) << rec.dump();
    EXPECT_GT(s["quantization"]["mean_nmse"].get<double>(), 0.0);
    EXPECT_EQ(s["quantization"]["layers"].size(), 14u);
    EXPECT_LT(s["quantization"]["total_bytes"].get<int64_t>(),
              s["quantization"]["fp16_bytes"].get<int64_t>());
  }
  // int8 barely moves a model; nf4 is coarser.
  EXPECT_NEAR(a["schemes"]["int8"]["summary"]["forget_answer_prob"].get<double>(),
              a["full"]["summary"]["forget_answer_prob"].get<double>(),
              0.05 * a["full"]["summary"]["forget_answer_prob"].get<double>() + 1e-6);
  EXPECT_GT(a["schemes"]["nf4"]["quantization"]["mean_nmse"].get<double>(),
            a["schemes"]["int8"]["quantization"]["mean_nmse"].get<double>());
  // The full-precision evaluation of an adapter is not changed by quantizing the one before it:
  // "a" evaluated after the reference's quantized runs equals a fresh run of "a" alone.
  const std::string out2 = (w.root / "quantize_a_only.json").string();
  ASSERT_EQ(test::run_lethe(common + " --adapter " + w.adapter_a.string() +
                                " --name a --schemes int8 --out " + out2,
                            &output),
            0)
      << output;
  EXPECT_EQ(core::read_json(out2)["models"]["a"]["full"]["summary"], a["full"]["summary"]);

  EXPECT_EQ(test::run_lethe(common + " --adapter " + w.adapter_a.string() + " --schemes int8,int3",
                            &output),
            2);
  EXPECT_NE(output.find("unknown quantization scheme 'int3'"), std::string::npos) << output;
  EXPECT_NE(output.find("nf4_dq"), std::string::npos) << output;
  EXPECT_EQ(test::run_lethe(common + " --schemes int8", &output), 1)
      << output;  // nothing to evaluate
}

TEST(QuantEval, RecoveryFraction) {
  EXPECT_NEAR(quant::recovery_fraction(0.2, 0.6, 1.0).get<double>(), 0.5, 1e-12);
  EXPECT_TRUE(quant::recovery_fraction(0.5, 0.6, 0.5).is_null());
}

}  // namespace
}  // namespace lethe
