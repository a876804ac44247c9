// The audit stage of `lethe run` on a fake run folder (small result files in the layouts of
// evaluator_run.cpp, quantize_eval.cpp, relearn.cpp and repr_run.cpp): one record per unlearned
// model with the right numbers, a valid chain, `lethe audit --verify`, and no duplicates on
// re-runs.
#include <gtest/gtest.h>

#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "expect_close.h"
#include "pipeline/pipeline.h"
#include "pipeline/run_config.h"
#include "pipeline/stages.h"
#include "report/audit.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace lethe;

namespace {

// The default profile with `overrides` merged over it, parsed as `lethe run` does.
pipeline::RunConfig run_config(const json& overrides) {
  return pipeline::parse_run_config(
      pipeline::merge_config(pipeline::default_run_config(), overrides), pipeline::ConfigOrigin{});
}

const std::vector<std::string> kModels = {"unlearn_grad_ascent_light", "unlearn_grad_ascent_heavy",
                                          "unlearn_npo_light", "unlearn_npo_heavy"};

json aggregates(double forget, double utility, double mia_loss, double mia_min_k) {
  return {{"forget", {{"rouge_l_recall", forget}, {"truth_ratio", 0.6}, {"answer_prob", 0.2}}},
          {"retain", {{"rouge_l_recall", 0.8}}},
          {"retain_correlated", {{"rouge_l_recall", 0.7}}},
          {"retain_other", {{"rouge_l_recall", 0.9}}},
          {"model_utility", utility},
          {"forget_quality", 0.01},
          {"mia", {{"loss", {{"auc", mia_loss}}}, {"min_k", {{"auc", mia_min_k}}}}}};
}

json quant_scheme(double recovered) {
  return {{"recovery",
           {{"forget_rouge_l_recall",
             {{"before", 0.1}, {"after", 0.5}, {"recovered_fraction", recovered}}}}}};
}

json relearn(double last_recovery) {
  return {{"set", "forget"},
          {"steps",
           {{{"step", 0}, {"forget_rouge_l", 0.1}, {"recovery_rouge_l", 0.0}},
            {{"step", 4}, {"forget_rouge_l", 0.4}, {"recovery_rouge_l", last_recovery}}}}};
}

struct FakeRun {
  pipeline::RunContext ctx;
  fs::path root;
};

FakeRun make_fake_run(const std::string& tag) {
  FakeRun f;
  f.root = test::make_temp_dir(tag);
  const fs::path run = f.root / "run";
  core::write_file_atomic(f.root / "base" / "config.json", "{\"model_type\":\"qwen2\"}");
  core::write_file_atomic(f.root / "base" / "model.safetensors", "base-weights");
  core::write_file_atomic(
      run / "data" / "sf.jsonl",
      "{\"id\":\"q1\",\"person_id\":\"t000\",\"question\":\"a?\",\"answer\":\"x\"}\n"
      "{\"id\":\"q2\",\"person_id\":\"t000\",\"question\":\"b?\",\"answer\":\"y\"}\n"
      "{\"id\":\"q3\",\"person_id\":\"t001\",\"question\":\"c?\",\"answer\":\"z\"}\n");
  core::write_file_atomic(run / "data" / "profiles.jsonl",
                          "{\"id\":\"t000\",\"name\":\"Ada Quill\"}\n"
                          "{\"id\":\"t001\",\"name\":\"Bo Lind\"}\n"
                          "{\"id\":\"b000\",\"name\":\"Not Forgotten\"}\n");
  core::write_file_atomic(run / "models" / "finetuned_adapter" / "adapter_model.safetensors", "ft");
  for (const auto& m : kModels)
    core::write_file_atomic(run / "models" / m / "adapter_model.safetensors", "w-" + m);

  json models = {{"finetuned", {{"aggregates", aggregates(0.95, 0.5, 0.9, 0.85)}}},
                 {"retain_only", {{"aggregates", aggregates(0.2, 0.5, 0.5, 0.5)}}}};
  models["unlearn_grad_ascent_light"] = {{"aggregates", aggregates(0.6, 0.48, 0.7, 0.6)}};
  models["unlearn_grad_ascent_heavy"] = {{"aggregates", aggregates(0.1, 0.45, 0.55, 0.45)}};
  models["unlearn_npo_light"] = {{"aggregates", aggregates(0.25, 0.49, 0.52, 0.48)}};
  models["unlearn_npo_heavy"] = {{"aggregates", aggregates(0.05, 0.46, 0.5, 0.58)}};
  core::write_json(run / "results" / "eval_results.json", {{"models", models}});

  json configs = json::array();
  for (const auto& [method, params] :
       {std::pair<std::string, json>{"grad_ascent", json::object()}, {"npo", {{"beta", 0.1}}}})
    for (const auto& [label, epochs] : {std::pair<std::string, int>{"light", 1}, {"heavy", 4}})
      configs.push_back({{"name", "unlearn_" + method + "_" + label},
                         {"method", method},
                         {"intensity", label},
                         {"epochs", epochs},
                         {"learning_rate", 1e-3},
                         {"params", params},
                         {"run_final_loss", -3.0}});
  core::write_json(run / "results" / "sweep_results.json", {{"configs", configs}});
  core::write_json(
      run / "results" / "quantize_results.json",
      {{"models",
        {{"reference", {{"schemes", {{"int8", json::object()}}}}},
         {"unlearn_grad_ascent_heavy",
          {{"schemes", {{"int8", quant_scheme(0.05)}, {"nf4", quant_scheme(0.2)}}}}},
         {"unlearn_npo_heavy",
          {{"schemes", {{"int8", quant_scheme(0.1)}, {"nf4", quant_scheme(0.6)}}}}}}}});
  core::write_json(run / "results" / "relearn_results_unlearn_grad_ascent_heavy.json",
                   relearn(0.3));
  core::write_json(run / "results" / "relearn_results_unlearn_npo_heavy.json", relearn(0.45));
  json repr = {{"probe", {{"attribute", "incident_type"}, {"classes", {"a", "b", "c", "d"}}}},
               {"reference", {{"forget", {{"probe_accuracy", {0.25, 0.9, 1.0}}}}}},
               {"models", json::object()}};
  for (size_t i = 0; i < kModels.size(); ++i)
    repr["models"][kModels[i]] = {
        {"forget", {{"drift", {0, 0.1, 0.2}}, {"probe_accuracy", {0.25, 0.8 - 0.1 * i, 0.5}}}}};
  core::write_json(run / "results" / "repr_results.json", repr);

  f.ctx.run_dir = run;
  f.ctx.model = (f.root / "base").string();
  f.ctx.model_sha256 = "fingerprint";
  f.ctx.config =
      run_config({{"seed", 7},
                  {"unlearn",
                   {{"learning_rate", 1e-3},
                    {"batch_size", 8},
                    {"intensities", {{"light", 1}, {"heavy", 4}}},
                    {"methods", {{"grad_ascent", json::object()}, {"npo", {{"beta", 0.1}}}}}}}});
  return f;
}

const std::vector<std::string> kAll = {"relearn", "quantize", "repr"};

}  // namespace

TEST(PipelineAudit, OneRecordPerUnlearnedModelWithTheRunsNumbers) {
  const FakeRun f = make_fake_run("pipeline_audit");
  const fs::path ledger = f.ctx.run_dir / "audit.jsonl";
  const auto outcome = pipeline::stage_audit(f.ctx, "inputs-1", kModels, kAll);
  EXPECT_EQ(outcome.status, "done");
  EXPECT_EQ(outcome.detail, "4 records: 2 pass 2 fail");
  EXPECT_FALSE(fs::exists(f.ctx.run_dir / "stages" / "audit.partial"));
  const auto records = core::read_jsonl(ledger);
  ASSERT_EQ(records.size(), 4u);

  std::set<std::string> ids;
  for (size_t i = 0; i < records.size(); ++i) {
    const json& r = records[i];
    SCOPED_TRACE(kModels[i]);
    ids.insert(r["request_id"].get<std::string>());
    EXPECT_EQ(r["config"]["model_name"], kModels[i]);
    EXPECT_EQ(r["subject"], "Ada Quill (t000), Bo Lind (t001)");
    EXPECT_EQ(r["forget_set"]["sha256"], core::sha256_file(f.ctx.run_dir / "data" / "sf.jsonl"));
    EXPECT_EQ(r["base_model"]["sha256"], core::sha256_tree(f.root / "base"));
    EXPECT_EQ(r["adapters"]["finetuned"]["sha256"],
              core::sha256_tree(f.ctx.run_dir / "models" / "finetuned_adapter"));
    EXPECT_EQ(r["adapters"]["unlearned"]["sha256"],
              core::sha256_tree(f.ctx.run_dir / "models" / kModels[i]));
    EXPECT_DOUBLE_EQ(r["metrics_before"]["forget_rouge_l"].get<double>(), 0.95);
    EXPECT_DOUBLE_EQ(r["metrics_before"]["model_utility"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(r["metrics_after"]["retain_correlated_rouge_l"].get<double>(), 0.7);
    EXPECT_EQ(r["config"]["batch_size"], 8);  // the unlearn section's common keys
    EXPECT_EQ(r["config"]["seed"], 7);
    // Chain: the first record starts it, each next one hashes the previous line.
    EXPECT_EQ(r["prev_record_sha256"],
              i == 0 ? json(nullptr) : json(core::sha256_hex(records[i - 1].dump())));
  }
  EXPECT_EQ(ids.size(), 4u);

  const json& ga_heavy = records[1];
  EXPECT_EQ(ga_heavy["method"], "grad_ascent");
  EXPECT_EQ(ga_heavy["config"]["epochs"], 4);
  EXPECT_EQ(ga_heavy["config"]["intensity"], "heavy");
  EXPECT_DOUBLE_EQ(ga_heavy["metrics_after"]["forget_rouge_l"].get<double>(), 0.1);
  const json& rob = ga_heavy["robustness"];
  EXPECT_DOUBLE_EQ(rob["quantization_recovery"].get<double>(), 0.2);  // worst scheme: nf4
  EXPECT_EQ(rob["quantization_scheme"], "nf4");
  EXPECT_DOUBLE_EQ(rob["relearning_recovery"].get<double>(), 0.3);  // last step
  EXPECT_EQ(rob["relearning_steps"], 4);
  EXPECT_DOUBLE_EQ(rob["probe_accuracy"].get<double>(), 0.7);  // highest layer (1)
  EXPECT_EQ(rob["probe_layer"], 1);
  EXPECT_DOUBLE_EQ(rob["probe_accuracy_finetuned"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(rob["probe_chance"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(rob["mia_auc"].get<double>(), 0.55);  // loss; min_k 0.45 is no farther
  EXPECT_EQ(ga_heavy["verdict"]["result"], "pass");

  EXPECT_EQ(records[0]["verdict"]["result"], "fail");  // forget ROUGE-L 0.6 > 0.3
  EXPECT_FALSE(records[0]["robustness"].contains("quantization_recovery"));  // light: not attacked
  EXPECT_EQ(records[2]["method"], "npo");
  EXPECT_EQ(records[2]["config"]["params"]["beta"], 0.1);
  EXPECT_EQ(records[2]["verdict"]["result"], "pass");  // unattacked checks are not_measured
  const json& npo_heavy = records[3];
  EXPECT_DOUBLE_EQ(npo_heavy["robustness"]["quantization_recovery"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(npo_heavy["robustness"]["mia_auc"].get<double>(), 0.58);  // min_k: farther
  EXPECT_EQ(npo_heavy["robustness"]["mia_attack"], "min_k");
  EXPECT_EQ(npo_heavy["verdict"]["result"], "fail");  // quantization recovery 0.6 > 0.5

  const auto v = report::verify_ledger(ledger);
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
  EXPECT_EQ(v.records, 4u);
  // Per record: forget set, base model, 2 adapters, eval/sweep/quantize/repr results; + relearn
  // (2).
  EXPECT_EQ(v.hashes_checked, 34u);
  std::string output;
  ASSERT_EQ(test::run_lethe("audit " + ledger.string() + " --verify", &output), 0) << output;
  EXPECT_NE(output.find("verified: 4 records, 34 hashes"), std::string::npos) << output;
  EXPECT_NE(output.find("subject:     Ada Quill (t000), Bo Lind (t001)"), std::string::npos);

  // Changing an unlearned adapter afterwards is caught by --verify.
  core::write_file_atomic(f.ctx.run_dir / "models" / kModels[3] / "adapter_model.safetensors",
                          "tampered");
  EXPECT_EQ(test::run_lethe("audit " + ledger.string() + " --verify", &output), 1) << output;
  EXPECT_NE(output.find("adapter unlearned"), std::string::npos) << output;
  fs::remove_all(f.root);
}

TEST(PipelineAudit, PathsAreRelativeToTheRunSoAMovedRunVerifies) {
  const FakeRun f = make_fake_run("pipeline_audit_move");
  ASSERT_EQ(pipeline::stage_audit(f.ctx, "inputs-1", kModels, kAll).status, "done");
  const json rec = core::read_jsonl(f.ctx.run_dir / "audit.jsonl")[1];
  EXPECT_EQ(rec["forget_set"]["path"], "data/sf.jsonl");
  EXPECT_EQ(rec["adapters"]["finetuned"]["path"], "models/finetuned_adapter");
  EXPECT_EQ(rec["adapters"]["unlearned"]["path"], "models/unlearn_grad_ascent_heavy");
  EXPECT_EQ(rec["results"]["eval_results"]["path"], "results/eval_results.json");
  EXPECT_EQ(rec["results"]["relearn_results"]["path"],
            "results/relearn_results_unlearn_grad_ascent_heavy.json");
  EXPECT_TRUE(fs::path(rec["base_model"]["path"].get<std::string>()).is_absolute());

  const fs::path moved = f.root / "moved_run";
  fs::rename(f.ctx.run_dir, moved);
  const auto v = report::verify_ledger(moved / "audit.jsonl");
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
  EXPECT_EQ(v.hashes_checked, 34u);
  // A result file changed after the audit is caught like an adapter.
  core::write_json(moved / "results" / "eval_results.json", {{"models", json::object()}});
  const auto changed = report::verify_ledger(moved / "audit.jsonl");
  ASSERT_EQ(changed.problems.size(), 4u);
  EXPECT_NE(changed.problems[0].find("results eval_results results/eval_results.json: sha256 "
                                     "differs"),
            std::string::npos)
      << changed.problems[0];
  fs::remove_all(f.root);
}

TEST(PipelineAudit, RerunsReuseOrRewriteTheLedgerNeverAppend) {
  const FakeRun f = make_fake_run("pipeline_audit_rerun");
  const fs::path ledger = f.ctx.run_dir / "audit.jsonl";
  ASSERT_EQ(pipeline::stage_audit(f.ctx, "inputs-1", kModels, kAll).status, "done");
  const std::string first = core::read_file(ledger);

  // Same inputs: reused, byte for byte.
  EXPECT_EQ(pipeline::stage_audit(f.ctx, "inputs-1", kModels, kAll).status, "reused");
  EXPECT_EQ(core::read_file(ledger), first);

  // The quantize stage failed this time: its (older) file is not read, and the ledger is rewritten
  // whole: still 4 records, a fresh chain.
  const auto partial = pipeline::stage_audit(f.ctx, "inputs-2", kModels, {"relearn", "repr"});
  EXPECT_EQ(partial.status, "done");
  auto records = core::read_jsonl(ledger);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_TRUE(records[0]["prev_record_sha256"].is_null());
  EXPECT_FALSE(records[3]["robustness"].contains("quantization_recovery"));
  EXPECT_EQ(records[3]["verdict"]["result"], "pass");
  EXPECT_TRUE(report::verify_ledger(ledger).ok());

  // The config's audit: thresholds are part of the stage key and the verdict.
  pipeline::RunContext strict = f.ctx;
  strict.config.audit =
      run_config({{"audit", {{"max_forget_rouge_l", 0.08}, {"max_quant_recovery", nullptr}}}})
          .audit;
  EXPECT_EQ(pipeline::stage_audit(strict, "inputs-2", kModels, {"relearn", "repr"}).detail,
            "4 records: 1 pass 3 fail");
  records = core::read_jsonl(ledger);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[3]["verdict"]["result"], "pass");  // forget 0.05 <= 0.08
  // An unknown audit key is an error of the run config, before any stage runs.
  try {
    run_config({{"audit", {{"max_forget_rouge", 0.1}}}});
    ADD_FAILURE() << "an unknown audit key must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("audit.max_forget_rouge: unknown key"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(core::read_jsonl(ledger).size(), 4u);  // a failed stage leaves the ledger as it was
  fs::remove_all(f.root);
}

TEST(PipelineAudit, TheRunSummaryNamesTheLedgerAndItsRecordCount) {
  pipeline::RunSummary s;
  s.run_dir = "runs/x";
  EXPECT_NE(pipeline::format_run_summary(s).find("audit: unavailable"), std::string::npos);
  s.audit = "runs/x/audit.jsonl";
  s.audit_records = 9;
  EXPECT_NE(pipeline::format_run_summary(s).find(
                "audit: runs/x/audit.jsonl (9 records; check with `lethe audit "
                "runs/x/audit.jsonl --verify`)"),
            std::string::npos);
}
