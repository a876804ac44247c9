// `lethe audit LEDGER`: prints unlearning certificates, verifies recorded hashes (--verify),
// appends a record (--append), exports a self-contained bundle (--export DIR). Exit code 1 when
// verification finds a mismatch.
#include <cstdio>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "report/audit.h"
#include "report/audit_bundle.h"

namespace lethe::cli {

namespace {

struct AuditCliOptions {
  std::string ledger;
  bool verify = false;
  bool append = false;
  std::string export_dir;
  int last = 0;
  std::string request_id, subject, forget_set, base_model, method;
  std::vector<std::string> adapters;
  std::string config = "{}", before = "{}", after = "{}", robustness = "{}";
  report::AuditThresholds thresholds;
};

// Inline JSON, or @FILE for a JSON file.
core::json json_arg(const std::string& option, const std::string& value) {
  if (!value.empty() && value[0] == '@') return core::read_json(value.substr(1));
  try {
    return core::json::parse(value);
  } catch (const std::exception& e) {
    throw UsageError(option + ": not valid JSON (give inline JSON or @FILE): " + value);
  }
}

void add_threshold(CLI::App* cmd, const std::string& name, std::optional<double>& slot,
                   const std::string& help) {
  cmd->add_option_function<double>(
         name, [&slot](double v) { slot = v < 0 ? std::nullopt : std::optional<double>(v); },
         help + " (negative: not judged)")
      ->default_str(slot ? std::to_string(*slot) : "-1");
}

}  // namespace

void add_audit_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("audit",
                                 "print, verify or append unlearning audit records (JSONL ledger)");
  auto o = std::make_shared<AuditCliOptions>();
  cmd->add_option("ledger", o->ledger, "audit ledger (JSONL, append-only)")->required();
  cmd->add_flag("--verify", o->verify, "re-hash recorded files; exit 1 on any mismatch")
      ->capture_default_str();
  cmd->add_option("--last", o->last, "> 0: print only the last N certificates")
      ->capture_default_str();
  auto* append =
      cmd->add_flag("--append", o->append, "append a record built from the options below")
          ->capture_default_str();
  cmd->add_option("--export", o->export_dir,
                  "write a self-contained bundle (the ledger and the files it names) into DIR "
                  "(new or empty); it verifies wherever DIR is moved")
      ->capture_default_str()
      ->excludes(append);
  cmd->add_option("--request-id", o->request_id, "request id (default: derived hash)")
      ->capture_default_str();
  cmd->add_option("--subject", o->subject, "who/what was forgotten")->capture_default_str();
  cmd->add_option("--forget-set", o->forget_set, "forget set file or folder (hashed)")
      ->capture_default_str();
  cmd->add_option("--base-model", o->base_model, "base model folder or file (hashed)")
      ->capture_default_str();
  cmd->add_option("--adapter", o->adapters, "NAME=PATH adapter (hashed), repeatable")
      ->capture_default_str();
  cmd->add_option("--method", o->method, "unlearning method")->capture_default_str();
  cmd->add_option("--config", o->config, "method config: JSON or @FILE")->capture_default_str();
  cmd->add_option("--metrics-before", o->before,
                  "metrics before: JSON or @FILE (forget_rouge_l, model_utility)")
      ->capture_default_str();
  cmd->add_option("--metrics-after", o->after, "metrics after: JSON or @FILE")
      ->capture_default_str();
  cmd->add_option(
         "--robustness", o->robustness,
         "JSON or @FILE: quantization_recovery, relearning_recovery, probe_accuracy, mia_auc")
      ->capture_default_str();
  add_threshold(cmd, "--max-forget-rouge-l", o->thresholds.max_forget_rouge_l,
                "verdict: forget ROUGE-L at most");
  add_threshold(cmd, "--min-utility-ratio", o->thresholds.min_utility_ratio,
                "verdict: utility after/before at least");
  add_threshold(cmd, "--max-quant-recovery", o->thresholds.max_quant_recovery,
                "verdict: quantization recovery at most");
  add_threshold(cmd, "--max-relearn-recovery", o->thresholds.max_relearn_recovery,
                "verdict: relearning recovery at most");
  add_threshold(cmd, "--max-probe-accuracy", o->thresholds.max_probe_accuracy,
                "verdict: probe accuracy at most");
  add_threshold(cmd, "--max-mia-auc-distance", o->thresholds.max_mia_auc_distance,
                "verdict: |MIA AUC - 0.5| at most");
  cmd->callback([o] {
    apply_global_options();
    if (o->append) {
      report::AuditRequest r;
      r.request_id = o->request_id;
      r.subject = o->subject;
      r.forget_set = o->forget_set;
      r.base_model = o->base_model;
      r.method = o->method;
      for (const auto& a : o->adapters) {
        const auto eq = a.find('=');
        if (eq == std::string::npos || eq == 0)
          throw UsageError("--adapter: expected NAME=PATH, got '" + a + "'");
        r.adapters[a.substr(0, eq)] = a.substr(eq + 1);
      }
      r.config = json_arg("--config", o->config);
      r.metrics_before = json_arg("--metrics-before", o->before);
      r.metrics_after = json_arg("--metrics-after", o->after);
      r.robustness = json_arg("--robustness", o->robustness);
      if (r.subject.empty() || r.forget_set.empty() || r.base_model.empty())
        throw UsageError("audit --append needs --subject, --forget-set and --base-model");
      const auto rec = report::append_audit_record(o->ledger, r, o->thresholds);
      std::printf("%s",
                  report::certificate_text(
                      rec, std::filesystem::absolute(o->ledger).lexically_normal().parent_path())
                      .c_str());
      std::printf("appended to %s\n", o->ledger.c_str());
      return;
    }
    if (!o->export_dir.empty()) {
      const auto b = report::export_audit_bundle(o->ledger, o->export_dir);
      std::printf("exported %zu records to %s: the ledger, %zu files/folders (%ju bytes), %s\n",
                  b.records, b.dir.c_str(), b.included.size(), b.bytes, report::kBundleManifest);
      for (const auto& n : b.not_included)
        std::printf("not included (outside the ledger's folder, named by path and sha256): %s\n",
                    n.c_str());
      std::printf("verify it anywhere: lethe audit %s --verify\n",
                  (b.dir / std::filesystem::path(o->ledger).filename()).c_str());
      return;
    }
    const auto records = core::read_jsonl(o->ledger);
    const auto root = std::filesystem::absolute(o->ledger).lexically_normal().parent_path();
    const size_t from =
        o->last > 0 && records.size() > static_cast<size_t>(o->last) ? records.size() - o->last : 0;
    for (size_t i = from; i < records.size(); ++i)
      std::printf("%s\n", report::certificate_text(records[i], root).c_str());
    if (o->verify) {
      const auto v = report::verify_ledger(o->ledger);
      std::printf("paths relative to %s (the ledger's folder)\n", v.root.c_str());
      for (const auto& n : v.notes) std::printf("note: %s\n", n.c_str());
      for (const auto& p : v.problems) std::printf("MISMATCH %s\n", p.c_str());
      if (!v.ok())
        LETHE_FAIL("audit: ", v.problems.size(), " problem(s) in ", o->ledger, " (", v.records,
                   " records, ", v.hashes_checked, " hashes checked; paths relative to ",
                   v.root.string(), ")");
      std::printf(
          "verified: %zu records, %zu hashes match the files on disk (%zu relative to %s, "
          "%zu absolute)\n",
          v.records, v.hashes_checked, v.hashes_checked - v.absolute_paths, v.root.c_str(),
          v.absolute_paths);
    }
  });
}

}  // namespace lethe::cli
