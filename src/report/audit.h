// The audit ledger: one JSONL record per unlearning request (append-only, hash-chained), a readable
// certificate, and verification of the recorded hashes against the files on disk.
#pragma once
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
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
  std::map<std::string, std::filesystem::path> results;   // files the metrics were read from
  std::string method;
  nlohmann::json config = nlohmann::json::object();
  nlohmann::json metrics_before = nlohmann::json::object();  // forget_rouge_l, model_utility, ...
  nlohmann::json metrics_after = nlohmann::json::object();
  nlohmann::json robustness =
      nlohmann::json::object();  // quantization_recovery, relearning_recovery,
                                 // probe_accuracy, mia_auc
};

// Paths in a record (lethe.audit.v2) are relative to the ledger's folder ROOT when the file is
// inside it, so a ledger and the files beside it can be moved or copied together and verified
// there; a file outside ROOT (a shared base model) is recorded absolute and does not travel with a
// copy. lethe.audit.v1 ledgers (older lethe) record every path absolute; they are still read and
// verified.
std::string recorded_path(const std::filesystem::path& path, const std::filesystem::path& root);

// Where a recorded path lies for a ledger in ROOT.
std::filesystem::path resolve_recorded_path(const std::string& recorded,
                                            const std::filesystem::path& root);

// Content hashes by absolute path, shared by the records of one ledger write so that a base model
// named by every record is hashed once (the files must not change while it is in use).
using HashCache = std::map<std::string, nlohmann::json>;

// {"path" (recorded_path), "kind": "file"|"folder", "sha256", "files": {RELATIVE: sha256}
// (folders)} of a file (sha256_file) or folder (sha256_tree); "files" lets verification name the
// changed file.
nlohmann::json hash_entry(const std::filesystem::path& path, const std::filesystem::path& root,
                          HashCache* cache = nullptr);

// The record for `request` (hashes computed now, paths recorded against ROOT, verdict judged
// against `thresholds`).
nlohmann::json make_audit_record(const AuditRequest& request, const AuditThresholds& thresholds,
                                 const std::filesystem::path& root, HashCache* cache = nullptr);

// Appends the record to LEDGER with "prev_record_sha256" = sha256 of the previous line; returns it.
nlohmann::json append_audit_record(const std::filesystem::path& ledger, const AuditRequest& request,
                                   const AuditThresholds& thresholds);

// Writes a whole ledger at once (core::write_file_atomic): one record per request, chained from a
// first record with prev_record_sha256 = null. Returns the records. For a ledger that belongs to
// one output (a run's RUN/audit.jsonl), where appending would duplicate records on a re-run.
// ROOT is the folder the ledger will be read from (empty: LEDGER's own folder); a pipeline stage
// writes it in a temporary folder that is renamed into ROOT afterwards.
std::vector<nlohmann::json> write_audit_ledger(const std::filesystem::path& ledger,
                                               const std::vector<AuditRequest>& requests,
                                               const AuditThresholds& thresholds,
                                               const std::filesystem::path& root = {});

// The hashed entries of a record: {"forget_set", e}, {"base_model", e}, {"adapter NAME", e},
// {"results NAME", e}.
std::vector<std::pair<std::string, nlohmann::json>> recorded_entries(const nlohmann::json& record);

struct VerifyReport {
  std::filesystem::path root;  // the ledger's folder: relative paths were checked there
  size_t records = 0, hashes_checked = 0;
  size_t absolute_paths = 0;  // entries recorded absolute: checked where they are, not portable
  // "record REQ: adapter unlearned models/x/adapter_model.safetensors: sha256 differs (...)"
  std::vector<std::string> problems;
  std::vector<std::string> notes;  // what was not checked or does not travel with a copy, and why
  bool ok() const { return problems.empty(); }
};

// The request of a SISA unlearning written by train::run_sisa_unlearn into SISA_OUT: adapters =
// every shard folder (records.jsonl included) and merged/, results "sisa" = sisa.json, config =
// per shard {adapter, records, records_sha256, retrained, forget_records_left}, the retrained
// shards, the seconds and the sha256 of the source manifest. verify_ledger re-checks each shard's
// records sha256 and that none of its records is in the forget set.
AuditRequest sisa_audit_request(const std::filesystem::path& sisa_out,
                                const std::filesystem::path& forget_set,
                                const std::filesystem::path& base_model,
                                const nlohmann::json& source_manifest);

// Re-hashes every recorded file/folder (relative paths against the ledger's own folder) and checks
// the chain of prev_record_sha256. In an exported bundle (audit_bundle.h) an absolute entry the
// bundle left out and this machine lacks is a note, not a problem.
VerifyReport verify_ledger(const std::filesystem::path& ledger);

// A human-readable certificate of one record; ROOT (the ledger's folder), when given, is named as
// what relative paths are relative to.
std::string certificate_text(const nlohmann::json& record, const std::filesystem::path& root = {});

}  // namespace lethe::report
