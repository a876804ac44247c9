// The folder layout of a SISA sharded fine-tune (train/sisa.h writes it) and the forget-record
// check, for every reader (eval, report, train): sisa.json at the top, shards/shard-k/ PEFT
// adapters each with the records.jsonl it was trained on, merged/ the merge adapter.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::io {

inline constexpr const char* kSisaManifest = "sisa.json";
inline constexpr const char* kSisaMerged = "merged";
inline constexpr const char* kSisaRecords = "records.jsonl";

bool is_sisa_folder(const std::filesystem::path& folder);

// The PEFT adapter folder that evaluates FOLDER: itself, or for a sharded fine-tune with combine
// merge its merged/ adapter. Throws lethe::Error naming sisa.json for combine ensemble (not one
// adapter; docs/sisa.md).
std::filesystem::path resolve_sisa_adapter(const std::filesystem::path& folder);

// Keys a record matches the forget set by: "id:" + id (when it has one) and
// "qa:" + question + '\x1f' + answer.
std::vector<std::string> forget_keys(const nlohmann::json& record);

// How many records of RECORDS_FILE (JSONL) match a record of FORGET_FILE by forget_keys.
size_t count_forget_records(const std::filesystem::path& records_file,
                            const std::filesystem::path& forget_file);

}  // namespace lethe::io
