// The audit ledger: one JSONL record per unlearning request (append-only, hash-chained), a readable
// certificate, and verification of the recorded hashes against the files on disk.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lethe::report {

// Verdict thresholds; an unset threshold or an unmeasured value is reported, not judged.
struct AuditThresholds {
  std::optional<double> max_forget_rouge_l = 0.3;    // metrics_after.forget_rouge_l
  std::optional<double> min_utility_ratio = 0.8;     // model_utility after / before
  std::optional<double> max_quant_recovery = 0.5;    // robustness.quantization_recovery
  std::optional<double> max_relearn_recovery = 0.5;  // robustness.relearning_recovery
  std::optional<double> max_probe_accuracy;          // robustness.probe_accuracy
  std::optional<double> max_mia_auc_distance = 0.1;  // |robustness.mia_auc - 0.5|
};

struct AuditRequest {
  std::string request_id;  // empty: derived from time, subject and forget-set hash
  std::string subject;     // who or what was to be forgotten
  std::filesystem::path forget_set;
  std::filesystem::path base_model;
  std::map<std::string, std::filesystem::path> adapters;  // e.g. finetuned, unlearned
  std::string method;
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json metrics_before = nlohmann::json::object();  // forget_rouge_l, model_utility, ...
  nlohmann::json metrics_after = nlohmann::json::object();
  nlohmann::json robustness =
      nlohmann::json::object();  // quantization_recovery, relearning_recovery,
                                 // probe_accuracy, mia_auc
};

// sha256 by absolute path, shared by the records of one ledger write so that a base model named by
// every record is hashed once (the files must not change while it is in use).
using HashCache = std::map<std::string, std::string>;

// {"path", "kind": "file"|"folder", "sha256"} of a file (sha256_file) or folder (sha256_tree).
nlohmann::json hash_entry(const std::filesystem::path& path, HashCache* cache = nullptr);

// The record for `request` (hashes computed now, verdict judged against `thresholds`).
nlohmann::json make_audit_record(const AuditRequest& request, const AuditThresholds& thresholds,
                                 HashCache* cache = nullptr);

// Appends the record to LEDGER with "prev_record_sha256" = sha256 of the previous line; returns it.
nlohmann::json append_audit_record(const std::filesystem::path& ledger, const AuditRequest& request,
                                   const AuditThresholds& thresholds);

// Writes a whole ledger at once (core::write_file_atomic): one record per request, chained from a
// first record with prev_record_sha256 = null. Returns the records. For a ledger that belongs to
// one output (a run's RUN/audit.jsonl), where appending would duplicate records on a re-run.
std::vector<nlohmann::json> write_audit_ledger(const std::filesystem::path& ledger,
                                               const std::vector<AuditRequest>& requests,
                                               const AuditThresholds& thresholds);

struct VerifyReport {
  size_t records = 0, hashes_checked = 0;
  std::vector<std::string>
      problems;  // "record REQ: base_model /x: sha256 differs (recorded ab12.., now cd34..)"
  bool ok() const { return problems.empty(); }
};

// Re-hashes every recorded file/folder and checks the chain of prev_record_sha256.
VerifyReport verify_ledger(const std::filesystem::path& ledger);

// A human-readable certificate of one record.
std::string certificate_text(const nlohmann::json& record);

}  // namespace lethe::report
