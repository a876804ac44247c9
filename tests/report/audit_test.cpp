// Audit ledger: append, hash chain, verdict, certificate, and verification catching a modified
// file.
#include "report/audit.h"

#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "expect_close.h"

namespace lethe::report {
namespace {

namespace fs = std::filesystem;
using core::json;

AuditRequest request(const fs::path& dir, double forget_after) {
  AuditRequest r;
  r.subject = "Ada Quill";
  r.forget_set = dir / "sf.jsonl";
  r.base_model = dir / "model";
  r.adapters["unlearned"] = dir / "adapter";
  r.method = "grad_ascent";
  r.config = {{"epochs", 20}};
  r.metrics_before = {{"forget_rouge_l", 0.97}, {"model_utility", 0.5}};
  r.metrics_after = {{"forget_rouge_l", forget_after}, {"model_utility", 0.45}};
  r.robustness = {{"quantization_recovery", 0.2}, {"mia_auc", 0.55}};
  return r;
}

fs::path make_files(const std::string& tag) {
  const fs::path dir = test::make_temp_dir(tag);
  core::write_file_atomic(dir / "sf.jsonl", "{\"question\":\"q\",\"answer\":\"a\"}\n");
  core::write_file_atomic(dir / "model" / "config.json", "{}");
  core::write_file_atomic(dir / "adapter" / "adapter_model.safetensors", "weights-v1");
  return dir;
}

TEST(Audit, AppendVerdictAndChain) {
  const fs::path dir = make_files("audit_append");
  const fs::path ledger = dir / "audit.jsonl";
  const json a = append_audit_record(ledger, request(dir, 0.1), {});
  const json b = append_audit_record(ledger, request(dir, 0.6), {});
  const auto lines = core::read_jsonl(ledger);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["forget_set"]["sha256"], core::sha256_file(dir / "sf.jsonl"));
  EXPECT_EQ(lines[0]["base_model"]["sha256"], core::sha256_tree(dir / "model"));
  EXPECT_EQ(lines[0]["adapters"]["unlearned"]["kind"], "folder");
  EXPECT_TRUE(lines[0]["prev_record_sha256"].is_null());
  EXPECT_EQ(a["verdict"]["result"],
            "pass");  // 0.1 <= 0.3, utility 0.9, quant 0.2, |0.55-0.5| <= 0.1
  EXPECT_EQ(b["verdict"]["result"], "fail");  // forget ROUGE-L 0.6 > 0.3
  EXPECT_NE(a["request_id"], b["request_id"]);
  const auto v = verify_ledger(ledger);
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
  EXPECT_EQ(v.records, 2u);
  EXPECT_EQ(v.hashes_checked, 6u);
  const std::string cert = certificate_text(a);
  EXPECT_NE(cert.find("Ada Quill"), std::string::npos);
  EXPECT_NE(cert.find("forget_rouge_l: 0.97 -> 0.1"), std::string::npos) << cert;
  EXPECT_NE(cert.find("VERDICT: pass"), std::string::npos);
}

TEST(Audit, UnmeasuredIsIncompleteNotPass) {
  const fs::path dir = make_files("audit_incomplete");
  AuditRequest r = request(dir, 0.1);
  r.metrics_after = json::object();
  r.robustness = json::object();
  const json rec = make_audit_record(r, {}, dir);
  EXPECT_EQ(rec["verdict"]["result"], "incomplete");
  AuditThresholds strict;
  strict.max_quant_recovery = 0.1;
  EXPECT_EQ(make_audit_record(request(dir, 0.1), strict, dir)["verdict"]["result"], "fail");
}

TEST(Audit, VerifyDetectsModifiedFilesAndTamperedRecords) {
  const fs::path dir = make_files("audit_verify");
  const fs::path ledger = dir / "audit.jsonl";
  append_audit_record(ledger, request(dir, 0.1), {});
  append_audit_record(ledger, request(dir, 0.1), {});
  std::string output;
  ASSERT_EQ(test::run_lethe("audit " + ledger.string() + " --verify", &output), 0) << output;
  EXPECT_NE(output.find("verified: 2 records, 6 hashes"), std::string::npos) << output;

  core::write_file_atomic(dir / "adapter" / "adapter_model.safetensors", "weights-v2");
  auto v = verify_ledger(ledger);
  ASSERT_EQ(v.problems.size(), 2u);
  EXPECT_NE(v.problems[0].find("adapter unlearned"), std::string::npos) << v.problems[0];
  EXPECT_NE(v.problems[0].find("sha256 differs"), std::string::npos);
  EXPECT_EQ(test::run_lethe("audit " + ledger.string() + " --verify", &output), 1) << output;
  EXPECT_NE(output.find("MISMATCH"), std::string::npos);
  core::write_file_atomic(dir / "adapter" / "adapter_model.safetensors", "weights-v1");

  // Editing the first record breaks the chain at the second.
  std::string text = core::read_file(ledger);
  text.replace(text.find("Ada Quill"), 9, "Bob Quill");
  core::write_file_atomic(ledger, text);
  v = verify_ledger(ledger);
  ASSERT_EQ(v.problems.size(), 1u);
  EXPECT_NE(v.problems[0].find("chain broken"), std::string::npos);

  fs::remove(dir / "sf.jsonl");
  v = verify_ledger(ledger);
  EXPECT_NE(v.problems.back().find("missing on disk"), std::string::npos);
}

TEST(Audit, CliAppendAndBadInput) {
  const fs::path dir = make_files("audit_cli");
  const fs::path ledger = dir / "audit.jsonl";
  std::string output;
  const std::string base =
      "audit " + ledger.string() + " --append --subject 'Ada Quill' --forget-set " +
      (dir / "sf.jsonl").string() + " --base-model " + (dir / "model").string() +
      " --adapter unlearned=" + (dir / "adapter").string() + " --method npo";
  ASSERT_EQ(test::run_lethe(base + " --metrics-after '{\"forget_rouge_l\":0.05}'", &output), 0)
      << output;
  EXPECT_NE(output.find("VERDICT: pass"), std::string::npos) << output;
  EXPECT_EQ(core::read_jsonl(ledger).size(), 1u);
  EXPECT_EQ(test::run_lethe(base + " --metrics-after '{oops'", &output), 2);
  EXPECT_NE(output.find("--metrics-after: not valid JSON"), std::string::npos) << output;
  AuditRequest missing = request(dir, 0.1);
  missing.forget_set = dir / "nope.jsonl";
  try {
    append_audit_record(ledger, missing, {});
    ADD_FAILURE() << "a missing forget set must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.jsonl does not exist"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(core::read_jsonl(ledger).size(), 1u);  // failed appends leave the ledger untouched
}

}  // namespace
}  // namespace lethe::report
