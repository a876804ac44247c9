// SISA exact unlearning over LoRA (Bourtoule et al. 2021, "Machine Unlearning", sharded training
// without slicing): K adapters fine-tuned on disjoint person-whole shards, combined by averaging
// their LoRA deltas (merge) or their log-probs (ensemble); unlearning retrains only the shards that
// held forget records. Not here: the audit ledger (report/audit.h) and evaluation (eval/).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/peft_adapter.h"
#include "io/sisa_folder.h"
#include "train/finetune.h"

namespace lethe::train {

// The folder layout (sisa.json, shards/shard-k/records.jsonl, merged/) and the forget-record
// match are in io/sisa_folder.h.
inline constexpr const char* kSisaFormat = "lethe.sisa.v1";

struct SisaOptions {
  int64_t shards = 1;
  std::string combine = "merge";  // merge | ensemble
};

// Throws lethe::UsageError naming --shards / --combine for K < 1 or an unknown combine mode.
void check_sisa_options(const SisaOptions& options);

// A training record with the identity the split and the forget check use.
struct SisaRecord {
  nlohmann::json record;  // the JSONL object as read (its dump() is the exact training line)
  std::string person;     // person_id, else "record:" + id, else "record:" + question
};

// Reads QA JSONL files (question, answer; person_id, id, subset optional) in order; with
// retain_only, drops subset "forget".
std::vector<SisaRecord> read_sisa_records(const std::vector<std::string>& files, bool retain_only);

// Person-whole split: the distinct persons sorted, shuffled by SplitMix64(seed), person i of the
// shuffle -> shard i mod K. Returns per shard the record indices in input order. Throws
// lethe::UsageError "--shards K: more shards than persons (N)" when K exceeds the persons.
std::vector<std::vector<size_t>> sisa_split(const std::vector<std::string>& person_of_record,
                                            int64_t shards, uint64_t seed);

// The exact bytes a shard trains on: one record dump() per line.
std::string sisa_records_text(const std::vector<nlohmann::json>& records);

// Merge (Wortsman et al. 2022 model soups, on the LoRA deltas): one PEFT adapter of rank K*r whose
// delta is the mean of the shards' deltas, exactly: A = [A_1; ...; A_K], B = [B_1 ... B_K] * s /
// (K s'), where s is the shards' scaling and s' the merged adapter's. Shards must share config.
io::Adapter merge_shard_adapters(const std::vector<io::Adapter>& shards);

// `lethe finetune --shards K`: OUT/sisa.json, OUT/shards/shard-k/ (a PEFT adapter trained with
// `config` on shard k's records, records.jsonl, shard.json), OUT/merged/ (merge adapter).
// Returns the manifest.
nlohmann::json run_sisa_finetune(const FinetuneConfig& config, const SisaOptions& options);

// Reads FOLDER/sisa.json; throws lethe::Error naming the file when absent or malformed.
nlohmann::json read_sisa_manifest(const std::filesystem::path& folder);

// The adapter folders of a sharded fine-tune, in shard order.
std::vector<std::filesystem::path> sisa_shard_folders(const std::filesystem::path& folder);

struct SisaUnlearnResult {
  nlohmann::json manifest;  // OUT/sisa.json
  std::vector<int64_t> retrained;
  double seconds = 0;
};

// `lethe unlearn --method sisa`: reads SISA_DIR's manifest, finds the shards holding a forget
// record, retrains those from the base on their records minus the forget records (the original
// shard's config and seed; a shard left empty gets a zero adapter), copies the others byte for
// byte, and writes OUT as a sharded fine-tune whose sisa.json adds "unlearn" (forget set sha256,
// retrained shards, per shard the forget records left: 0). Throws lethe::Error naming the folder
// when SISA_DIR has no sisa.json.
SisaUnlearnResult run_sisa_unlearn(const std::filesystem::path& sisa_dir,
                                   const std::filesystem::path& forget,
                                   const std::filesystem::path& out,
                                   const std::string& model_override = "");

}  // namespace lethe::train
