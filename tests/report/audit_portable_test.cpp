// Self-contained audit ledgers: paths relative to the ledger's folder, so a moved folder verifies
// and a tampered copy fails naming the file; `lethe audit --export DIR` bundles that verify
// wherever they are moved; older ledgers with absolute paths still verify, with a note.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "expect_close.h"
#include "report/audit.h"
#include "report/audit_bundle.h"

namespace lethe::report {
namespace {

namespace fs = std::filesystem;
using core::json;

// ROOT/run: a run-like folder whose ledger names a forget set, two adapters and a results file
// inside it; ROOT/base: a base model outside it (recorded absolute).
struct Fixture {
  fs::path root, run, base;
};

Fixture make_run(const std::string& tag) {
  Fixture f;
  f.root = test::make_temp_dir(tag);
  f.run = f.root / "run";
  f.base = f.root / "base";
  core::write_file_atomic(f.base / "config.json", "{\"model_type\":\"qwen2\"}");
  core::write_file_atomic(f.base / "model.safetensors", "base-weights");
  core::write_file_atomic(f.run / "data" / "sf.jsonl", "{\"question\":\"q\",\"answer\":\"a\"}\n");
  core::write_file_atomic(f.run / "models" / "finetuned_adapter" / "adapter_model.safetensors",
                          "finetuned-weights");
  core::write_file_atomic(f.run / "models" / "finetuned_adapter" / "adapter_config.json", "{}");
  core::write_file_atomic(f.run / "models" / "unlearn_npo" / "adapter_model.safetensors",
                          "unlearned-weights");
  core::write_file_atomic(f.run / "results" / "eval_results.json", "{\"models\":{}}");
  AuditRequest r;
  r.request_id = "run-npo";
  r.subject = "Ada Quill";
  r.forget_set = f.run / "data" / "sf.jsonl";
  r.base_model = f.base;
  r.adapters["finetuned"] = f.run / "models" / "finetuned_adapter";
  r.adapters["unlearned"] = f.run / "models" / "unlearn_npo";
  r.results["eval_results"] = f.run / "results" / "eval_results.json";
  r.method = "npo";
  r.metrics_after = {{"forget_rouge_l", 0.1}};
  AuditRequest second = r;
  second.request_id = "run-npo-2";
  write_audit_ledger(f.run / "audit.jsonl", {r, second}, {});
  return f;
}

void flip_one_byte(const fs::path& file) {
  std::string bytes = core::read_file(file);
  bytes[bytes.size() / 2] ^= 0x01;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(AuditPortable, PathsAreRelativeToTheLedgersFolder) {
  const Fixture f = make_run("audit_relative");
  const json rec = core::read_jsonl(f.run / "audit.jsonl")[0];
  EXPECT_EQ(rec["schema"], "lethe.audit.v2");
  EXPECT_EQ(rec["forget_set"]["path"], "data/sf.jsonl");
  EXPECT_EQ(rec["adapters"]["unlearned"]["path"], "models/unlearn_npo");
  EXPECT_EQ(rec["adapters"]["unlearned"]["files"]["adapter_model.safetensors"],
            core::sha256_file(f.run / "models" / "unlearn_npo" / "adapter_model.safetensors"));
  EXPECT_EQ(rec["adapters"]["finetuned"]["sha256"],
            core::sha256_tree(f.run / "models" / "finetuned_adapter"));
  EXPECT_EQ(rec["results"]["eval_results"]["path"], "results/eval_results.json");
  EXPECT_EQ(rec["base_model"]["path"], fs::absolute(f.base).lexically_normal().string());
  const std::string cert = certificate_text(rec, f.run);
  EXPECT_NE(cert.find("paths:       relative to " + f.run.string()), std::string::npos) << cert;
  EXPECT_NE(cert.find("(absolute: not portable)"), std::string::npos) << cert;
  fs::remove_all(f.root);
}

TEST(AuditPortable, MovedFolderVerifies) {
  const Fixture f = make_run("audit_move");
  const fs::path moved = f.root / "elsewhere" / "run_moved";
  fs::create_directories(moved.parent_path());
  fs::rename(f.run, moved);
  const auto v = verify_ledger(moved / "audit.jsonl");
  EXPECT_TRUE(v.ok()) << joined(v.problems);
  EXPECT_EQ(v.records, 2u);
  EXPECT_EQ(v.hashes_checked, 10u);
  EXPECT_EQ(v.absolute_paths, 2u);  // the base model, once per record
  EXPECT_EQ(v.root, moved);
  std::string output;
  ASSERT_EQ(test::run_lethe("audit " + (moved / "audit.jsonl").string() + " --verify", &output), 0)
      << output;
  EXPECT_NE(output.find("paths relative to " + moved.string()), std::string::npos) << output;
  EXPECT_NE(output.find("verified: 2 records, 10 hashes match the files on disk (8 relative to " +
                        moved.string() + ", 2 absolute)"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("do not travel with a copy"), std::string::npos) << output;
  fs::remove_all(f.root);
}

TEST(AuditPortable, TamperedCopyFailsNamingTheFile) {
  const Fixture f = make_run("audit_copy");
  const fs::path copy = f.root / "copy";
  fs::copy(f.run, copy, fs::copy_options::recursive);
  flip_one_byte(copy / "models" / "unlearn_npo" / "adapter_model.safetensors");
  const auto v = verify_ledger(copy / "audit.jsonl");
  ASSERT_EQ(v.problems.size(), 2u) << joined(v.problems);  // one per record naming the adapter
  EXPECT_NE(v.problems[0].find("record run-npo: adapter unlearned "
                               "models/unlearn_npo/adapter_model.safetensors: sha256 differs"),
            std::string::npos)
      << v.problems[0];
  std::string output;
  EXPECT_EQ(test::run_lethe("audit " + (copy / "audit.jsonl").string() + " --verify", &output), 1)
      << output;
  EXPECT_NE(output.find("MISMATCH record run-npo: adapter unlearned "
                        "models/unlearn_npo/adapter_model.safetensors"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("paths relative to " + copy.string()), std::string::npos) << output;
  EXPECT_TRUE(verify_ledger(f.run / "audit.jsonl").ok());  // the original is untouched

  // A file added to or removed from a copied adapter folder is named too.
  fs::copy(f.run, f.root / "copy2", fs::copy_options::recursive);
  fs::remove(f.root / "copy2" / "models" / "finetuned_adapter" / "adapter_config.json");
  core::write_file_atomic(f.root / "copy2" / "models" / "unlearn_npo" / "extra.bin", "x");
  const std::string problems = joined(verify_ledger(f.root / "copy2" / "audit.jsonl").problems);
  EXPECT_NE(problems.find("models/finetuned_adapter/adapter_config.json: missing on disk"),
            std::string::npos)
      << problems;
  EXPECT_NE(problems.find("models/unlearn_npo/extra.bin: not in the record (added)"),
            std::string::npos)
      << problems;
  fs::remove_all(f.root);
}

TEST(AuditPortable, ExportThenMoveVerifiesWithoutTheOriginals) {
  const Fixture f = make_run("audit_export");
  const fs::path bundle = f.root / "out" / "bundle";
  std::string output;
  ASSERT_EQ(
      test::run_lethe("audit " + (f.run / "audit.jsonl").string() + " --export " + bundle.string(),
                      &output),
      0)
      << output;
  EXPECT_NE(output.find("exported 2 records to " + bundle.string()), std::string::npos) << output;
  EXPECT_NE(output.find("not included (outside the ledger's folder, named by path and sha256): "
                        "base_model " +
                        f.base.string()),
            std::string::npos)
      << output;
  EXPECT_EQ(core::read_file(bundle / "audit.jsonl"), core::read_file(f.run / "audit.jsonl"));
  for (const char* rel : {"data/sf.jsonl", "models/finetuned_adapter/adapter_config.json",
                          "models/unlearn_npo/adapter_model.safetensors",
                          "results/eval_results.json", "audit_bundle.json"})
    EXPECT_TRUE(fs::is_regular_file(bundle / rel)) << rel;
  for (const auto& e : fs::directory_iterator(bundle.parent_path()))  // no temporary left behind
    EXPECT_EQ(e.path().filename(), "bundle");

  // "Another machine": the bundle moved, the run folder and the base model gone.
  const fs::path moved = f.root / "elsewhere" / "b";
  fs::create_directories(moved.parent_path());
  fs::rename(bundle, moved);
  fs::remove_all(f.run);
  fs::remove_all(f.base);
  const auto v = verify_ledger(moved / "audit.jsonl");
  EXPECT_TRUE(v.ok()) << joined(v.problems);
  EXPECT_EQ(v.hashes_checked, 8u);
  ASSERT_EQ(v.notes.size(), 2u) << joined(v.notes);
  EXPECT_NE(v.notes[0].find("not checked: record run-npo: base_model " + f.base.string() +
                            ": outside the bundle and not on this machine"),
            std::string::npos)
      << v.notes[0];
  ASSERT_EQ(test::run_lethe("audit " + (moved / "audit.jsonl").string() + " --verify", &output), 0)
      << output;
  EXPECT_NE(output.find("verified: 2 records, 8 hashes match the files on disk (8 relative to " +
                        moved.string()),
            std::string::npos)
      << output;
  fs::remove_all(f.root);
}

TEST(AuditPortable, TamperedExportFails) {
  const Fixture f = make_run("audit_export_tamper");
  const fs::path bundle = f.root / "bundle";
  const auto summary = export_audit_bundle(f.run / "audit.jsonl", bundle);
  EXPECT_EQ(summary.records, 2u);
  EXPECT_EQ(summary.included.size(), 4u);  // sf.jsonl, two adapters, eval_results.json
  ASSERT_TRUE(verify_ledger(bundle / "audit.jsonl").ok());

  flip_one_byte(bundle / "models" / "finetuned_adapter" / "adapter_model.safetensors");
  std::string output;
  EXPECT_EQ(test::run_lethe("audit " + (bundle / "audit.jsonl").string() + " --verify", &output), 1)
      << output;
  EXPECT_NE(output.find("adapter finetuned models/finetuned_adapter/adapter_model.safetensors: "
                        "sha256 differs"),
            std::string::npos)
      << output;
  fs::remove_all(bundle);

  // An edited metric in the bundle's ledger: the manifest's ledger hash no longer matches.
  export_audit_bundle(f.run / "audit.jsonl", bundle);
  std::string text = core::read_file(bundle / "audit.jsonl");
  text.replace(text.rfind("\"forget_rouge_l\":0.1"), 20, "\"forget_rouge_l\":0.0");
  std::ofstream(bundle / "audit.jsonl", std::ios::trunc) << text;
  const std::string problems = joined(verify_ledger(bundle / "audit.jsonl").problems);
  EXPECT_NE(problems.find("audit_bundle.json: audit.jsonl is not the ledger that was exported"),
            std::string::npos)
      << problems;
  fs::remove_all(bundle);

  // The base model claimed "not included" by a bundle is still checked where it exists.
  export_audit_bundle(f.run / "audit.jsonl", bundle);
  core::write_file_atomic(f.base / "model.safetensors", "other-weights");
  const auto v = verify_ledger(bundle / "audit.jsonl");
  EXPECT_NE(joined(v.problems)
                .find("base_model " + f.base.string() +
                      "/model.safetensors: sha256 "
                      "differs"),
            std::string::npos)
      << joined(v.problems);
  fs::remove_all(f.root);
}

TEST(AuditPortable, ExportRefusesABadFolderAndAnUnverifiedLedger) {
  const Fixture f = make_run("audit_export_bad");
  const std::string ledger = (f.run / "audit.jsonl").string();
  std::string output;
  core::write_file_atomic(f.root / "full" / "keep.txt", "mine");
  EXPECT_EQ(test::run_lethe("audit " + ledger + " --export " + (f.root / "full").string(), &output),
            1);
  EXPECT_NE(output.find("audit --export: " + (f.root / "full").string() +
                        " exists and is not empty (give a new or an empty folder)"),
            std::string::npos)
      << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;  // one line
  EXPECT_EQ(core::read_file(f.root / "full" / "keep.txt"), "mine");
  EXPECT_EQ(std::distance(fs::directory_iterator(f.root / "full"), fs::directory_iterator()), 1);

  core::write_file_atomic(f.root / "a_file", "x");
  EXPECT_EQ(
      test::run_lethe("audit " + ledger + " --export " + (f.root / "a_file").string(), &output), 1);
  EXPECT_NE(output.find("exists and is not a folder"), std::string::npos) << output;

  EXPECT_EQ(test::run_lethe("audit " + ledger + " --export " +
                                (f.run / "models" / "unlearn_npo" / "b").string(),
                            &output),
            1);
  EXPECT_NE(output.find("lies inside models/unlearn_npo, which the bundle copies"),
            std::string::npos)
      << output;

  // An empty folder is fine.
  fs::create_directories(f.root / "empty");
  ASSERT_EQ(
      test::run_lethe("audit " + ledger + " --export " + (f.root / "empty").string(), &output), 0)
      << output;
  EXPECT_TRUE(verify_ledger(f.root / "empty" / "audit.jsonl").ok());

  // A ledger that does not verify is not exported, and nothing is created.
  flip_one_byte(f.run / "data" / "sf.jsonl");
  EXPECT_EQ(test::run_lethe("audit " + ledger + " --export " + (f.root / "new").string(), &output),
            1);
  EXPECT_NE(output.find("does not verify (2 problem(s), the first: record run-npo: forget_set "
                        "data/sf.jsonl: sha256 differs"),
            std::string::npos)
      << output;
  EXPECT_FALSE(fs::exists(f.root / "new"));
  fs::remove_all(f.root);
}

TEST(AuditPortable, OlderAbsoluteLedgersVerifyWithANoteAndAreNotExported) {
  const Fixture f = make_run("audit_v1");
  // A lethe.audit.v1 ledger: the same record with every path absolute, chained afresh.
  json rec = core::read_jsonl(f.run / "audit.jsonl")[0];
  rec["schema"] = "lethe.audit.v1";
  for (auto* e : {&rec["forget_set"], &rec["adapters"]["finetuned"], &rec["adapters"]["unlearned"]})
    (*e)["path"] = (f.run / (*e)["path"].get<std::string>()).string();
  rec.erase("results");
  rec["prev_record_sha256"] = nullptr;
  const fs::path old_ledger = f.root / "old" / "audit.jsonl";
  core::write_file_atomic(old_ledger, rec.dump() + "\n");
  const auto v = verify_ledger(old_ledger);
  EXPECT_TRUE(v.ok()) << joined(v.problems);
  EXPECT_EQ(v.absolute_paths, 4u);
  ASSERT_EQ(v.notes.size(), 1u);
  EXPECT_NE(v.notes[0].find("1 record(s) of lethe.audit.v1 (an older lethe) record absolute paths"),
            std::string::npos)
      << v.notes[0];
  try {
    export_audit_bundle(old_ledger, f.root / "bundle");
    ADD_FAILURE() << "a v1 ledger must not be exported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("records absolute paths (lethe.audit.v1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(f.root / "bundle"));
  fs::remove_all(f.root);
}

}  // namespace
}  // namespace lethe::report
