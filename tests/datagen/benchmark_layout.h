// Small synthetic folders in MUSE's and RWKU's published layouts (their file names and field
// names: swj0419/muse_bench data/<corpus>/, jinzhuoran/RWKU All/), for the importers' tests and
// the tests of commands that read an imported folder.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::test {

// Writes `records` as a JSON array, one element per line ("[\n{...},\n{...}\n]"), so element i
// starts on line i + 2.
void write_json_array(const std::filesystem::path& path, const nlohmann::json& records);

// MUSE data/news: knowmem/forget_qa.json (3), knowmem/retain_qa.json (2),
// knowmem/forget_qa_icl.json (1), verbmem/forget.json (2 {prompt, gt}), privleak/forget.json (2),
// privleak/holdout.json (2) passages (no privleak/retain.json).
void write_muse(const std::filesystem::path& dir);

// RWKU All/ for two targets (Stephen King, Taylor Swift): forget_level1.json (3),
// forget_level2.json (2), forget_level3.json (3, of types prefix injection, affirmative suffix,
// incontext learning), neighbor_level1.json (1), neighbor_level2.json (2), as data_process.py
// writes them (json.dump(indent=4)).
void write_rwku(const std::filesystem::path& dir);

}  // namespace lethe::test
