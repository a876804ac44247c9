// SISA over LoRA: the person-whole split, the exact merge of shard deltas, the sharded fine-tune
// (K = 1 is the normal adapter), unlearning that retrains only the affected shards, the audit
// evidence (verify passes, fails on a tampered shard) and the one-line errors of bad arguments.
#include "train/sisa.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "expect_close.h"
#include "io/safetensors.h"
#include "io/sisa_folder.h"
#include "report/audit.h"
#include "train/finetune.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(SisaSplit, DisjointCoversEveryRecordAndKeepsPersonsWhole) {
  std::vector<std::string> persons;
  for (int i = 0; i < 23; ++i) persons.push_back("p" + std::to_string((i * 5) % 7));
  for (int64_t k = 1; k <= 7; ++k) {
    const auto split = train::sisa_split(persons, k, 42);
    ASSERT_EQ(split.size(), static_cast<size_t>(k));
    std::vector<int> seen(persons.size(), 0);
    std::map<std::string, size_t> shard_of;
    for (size_t s = 0; s < split.size(); ++s) {
      EXPECT_FALSE(split[s].empty()) << "K=" << k << " shard " << s << " is empty";
      for (size_t i : split[s]) {
        ++seen[i];
        const auto [it, fresh] = shard_of.emplace(persons[i], s);
        EXPECT_EQ(it->second, s) << persons[i] << " is in shards " << it->second << " and " << s;
      }
    }
    for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "record " << i << " K=" << k;
    EXPECT_EQ(split, train::sisa_split(persons, k, 42)) << "not deterministic for K=" << k;
  }
  // The seed decides which persons share a shard.
  bool differs = false;
  for (uint64_t seed = 1; seed < 6 && !differs; ++seed)
    differs = train::sisa_split(persons, 3, seed) != train::sisa_split(persons, 3, 42);
  EXPECT_TRUE(differs);
  EXPECT_THROW(train::sisa_split(persons, 8, 42), UsageError);
  EXPECT_THROW(train::sisa_split(persons, 0, 42), UsageError);
}

io::Adapter random_adapter(uint64_t seed, bool rslora) {
  torch::manual_seed(seed);
  io::Adapter a;
  a.config.r = 2;
  a.config.lora_alpha = 5.0;
  a.config.use_rslora = rslora;
  a.config.target_modules = {"q_proj", "v_proj"};
  for (const char* m : {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj"})
    a.modules[m] = {torch::randn({2, 6}), torch::randn({4, 2})};
  return a;
}

TEST(SisaMerge, EqualsTheAveragedDelta) {
  for (bool rslora : {false, true}) {
    std::vector<io::Adapter> shards = {random_adapter(1, rslora), random_adapter(2, rslora),
                                       random_adapter(3, rslora)};
    const auto merged = train::merge_shard_adapters(shards);
    EXPECT_EQ(merged.config.r, 6);
    ASSERT_EQ(merged.modules.size(), 2u);
    for (const auto& [prefix, w] : merged.modules) {
      torch::Tensor want = torch::zeros({4, 6});
      for (const auto& s : shards)
        want += s.config.scaling() *
                torch::matmul(s.modules.at(prefix).lora_B, s.modules.at(prefix).lora_A) / 3.0;
      const auto got = merged.config.scaling() * torch::matmul(w.lora_B, w.lora_A);
      EXPECT_TRUE(test::expect_close(prefix + (rslora ? " rslora" : ""), got, want, 1e-5, 1e-5));
    }
  }
  auto other = random_adapter(4, false);
  other.config.r = 3;
  EXPECT_THROW(train::merge_shard_adapters({random_adapter(1, false), other}), Error);
}

// A tiny base model pretrained once for the suite (seconds), 5 persons with 2 QA records each,
// a 3-shard fine-tune of them and its SISA unlearning of person p1.
class Sisa : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    core::Progress::set_quiet(true);
    dir_ = new fs::path(test::make_temp_dir("sisa"));
    const char* names[] = {"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra",
                           "Barbara Liskov"};
    const char* cities[] = {"London", "Wilmslow", "New York", "Rotterdam", "Boston"};
    std::string corpus, qa, forget;
    for (int i = 0; i < 5; ++i) {
      corpus += json({{"id", "c" + std::to_string(i)},
                      {"kind", "prose"},
                      {"text", std::string(names[i]) + " lived in " + cities[i] + "."}})
                    .dump() +
                "\n";
      for (int j = 0; j < 2; ++j) {
        const std::string line = json({{"id", "q" + std::to_string(i) + "_" + std::to_string(j)},
                                       {"person_id", "p" + std::to_string(i)},
                                       {"subset", i == 1 ? "forget" : "other"},
                                       {"question", std::string(j ? "Where did " : "Where was ") +
                                                        names[i] + (j ? " live?" : " born?")},
                                       {"answer", cities[(i + j) % 5]}})
                                     .dump() +
                                 "\n";
        qa += line;
        if (i == 1) forget += line;
      }
    }
    core::write_file_atomic(*dir_ / "corpus.jsonl", corpus);
    core::write_file_atomic(*dir_ / "qa.jsonl", qa);
    core::write_file_atomic(*dir_ / "sf.jsonl", forget);
    std::string output;
    const int status =
        test::run_lethe("--quiet pretrain --corpus " + (*dir_ / "corpus.jsonl").string() +
                            " --out " + (*dir_ / "base").string() +
                            " --vocab-size 300 --hidden-size 32 --layers 1 --heads 2 --kv-heads 1"
                            " --intermediate-size 64 --max-length 64 --epochs 1 --batch-size 4",
                        &output);
    ASSERT_EQ(status, 0) << output;
    sharded_ = new json(train::run_sisa_finetune(config("sharded"), {3, "merge"}));
    unlearned_ = new train::SisaUnlearnResult(
        train::run_sisa_unlearn(*dir_ / "sharded", *dir_ / "sf.jsonl", *dir_ / "unlearned"));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete sharded_;
    delete unlearned_;
  }

  static train::FinetuneConfig config(const std::string& out) {
    train::FinetuneConfig c;
    c.model = (*dir_ / "base").string();
    c.data = {(*dir_ / "qa.jsonl").string()};
    c.out = (*dir_ / out).string();
    c.max_length = 64;
    c.lora.r = 2;
    c.train.epochs = 2;
    c.train.batch_size = 2;
    c.train.seed = 5;
    c.train.schedule.lr = 1e-3;
    return c;
  }

  static std::map<std::string, torch::Tensor> weights(const fs::path& adapter) {
    return io::load_safetensors(adapter / "adapter_model.safetensors");
  }

  static fs::path* dir_;
  static json* sharded_;
  static train::SisaUnlearnResult* unlearned_;
};
fs::path* Sisa::dir_ = nullptr;
json* Sisa::sharded_ = nullptr;
train::SisaUnlearnResult* Sisa::unlearned_ = nullptr;

TEST_F(Sisa, TheShardsArePersonWholeAndHashTheirExactRecords) {
  const auto& shards = (*sharded_)["shard_list"];
  ASSERT_EQ(shards.size(), 3u);
  std::set<std::string> persons;
  size_t records = 0;
  for (const auto& s : shards) {
    const fs::path folder = *dir_ / "sharded" / s["folder"].get<std::string>();
    EXPECT_TRUE(fs::is_regular_file(folder / "adapter_config.json")) << folder;
    EXPECT_EQ(core::sha256_file(folder / io::kSisaRecords), s["records_sha256"]);
    const auto lines = core::read_jsonl(folder / io::kSisaRecords);
    EXPECT_EQ(lines.size(), s["records"].get<size_t>());
    records += lines.size();
    for (const auto& r : lines) {
      const std::string p = r["person_id"];
      EXPECT_EQ(std::count(s["persons"].begin(), s["persons"].end(), p), 1) << p;
      persons.insert(p + "@" + s["folder"].get<std::string>());
    }
  }
  EXPECT_EQ(records, 10u);
  EXPECT_EQ(persons.size(), 5u) << "a person is split over shards";
  EXPECT_TRUE(fs::is_regular_file(*dir_ / "sharded" / io::kSisaMerged / "adapter_config.json"));
  EXPECT_EQ(io::resolve_sisa_adapter(*dir_ / "sharded"), *dir_ / "sharded" / io::kSisaMerged);
}

TEST_F(Sisa, OneShardEqualsTheNormalAdapter) {
  train::run_finetune(config("normal"), false);
  train::run_sisa_finetune(config("one"), {1, "merge"});
  const auto want = weights(*dir_ / "normal");
  for (const fs::path got_dir : {*dir_ / "one" / "shards" / "shard-0", *dir_ / "one" / "merged"}) {
    const auto got = weights(got_dir);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [key, tensor] : want)
      EXPECT_TRUE(
          test::expect_close(got_dir.filename().string() + " " + key, got.at(key), tensor, 0.0));
  }
}

TEST_F(Sisa, UnlearnRetrainsOnlyTheShardThatHeldTheForgetRecords) {
  // p1's two records are in exactly one shard.
  std::vector<int64_t> holding;
  for (const auto& s : (*sharded_)["shard_list"])
    if (std::count(s["persons"].begin(), s["persons"].end(), "p1") > 0)
      holding.push_back(s["index"]);
  ASSERT_EQ(holding.size(), 1u);
  EXPECT_EQ(unlearned_->retrained, holding);
  const auto& after = unlearned_->manifest["shard_list"];
  for (size_t k = 0; k < 3; ++k) {
    const std::string folder = after[k]["folder"];
    const fs::path before_dir = *dir_ / "sharded" / folder,
                   after_dir = *dir_ / "unlearned" / folder;
    EXPECT_EQ(io::count_forget_records(after_dir / io::kSisaRecords, *dir_ / "sf.jsonl"), 0u);
    EXPECT_EQ(core::sha256_file(after_dir / io::kSisaRecords), after[k]["records_sha256"]);
    if (static_cast<int64_t>(k) == holding[0]) {
      EXPECT_TRUE(after[k]["retrained"].get<bool>());
      EXPECT_EQ(io::count_forget_records(before_dir / io::kSisaRecords, *dir_ / "sf.jsonl"), 2u);
      EXPECT_EQ(after[k]["records"].get<size_t>() + 2,
                (*sharded_)["shard_list"][k]["records"].get<size_t>());
      EXPECT_NE(core::sha256_tree(after_dir), core::sha256_tree(before_dir));
    } else {
      EXPECT_FALSE(after[k]["retrained"].get<bool>());
      EXPECT_EQ(core::sha256_tree(after_dir), core::sha256_tree(before_dir)) << folder;
    }
  }
  EXPECT_EQ(unlearned_->manifest["unlearn"]["forget_records_removed"], 2);
  // Retraining from the base on the same records with the same seed reproduces the shard: the
  // retrained shard equals a fresh fine-tune of its remaining records.
  const fs::path retrained = *dir_ / "unlearned" / after[holding[0]]["folder"].get<std::string>();
  auto c = config("fresh");
  c.data = {(retrained / io::kSisaRecords).string()};
  train::run_finetune(c, false);
  const auto want = weights(*dir_ / "fresh");
  const auto got = weights(retrained);
  for (const auto& [key, tensor] : want)
    EXPECT_TRUE(test::expect_close(key, got.at(key), tensor, 0.0));
}

TEST_F(Sisa, AuditVerifyPassesAndFailsOnATamperedShard) {
  const fs::path copy = *dir_ / "audit_copy";
  fs::copy(*dir_ / "unlearned", copy, fs::copy_options::recursive);
  const auto request = report::sisa_audit_request(copy, *dir_ / "sf.jsonl", *dir_ / "base",
                                                  core::read_json(*dir_ / "sharded" / "sisa.json"));
  const fs::path ledger = copy / "audit.jsonl";
  report::write_audit_ledger(ledger, {request}, report::AuditThresholds{});
  const auto ok = report::verify_ledger(ledger);
  EXPECT_TRUE(ok.ok()) << (ok.problems.empty() ? "" : ok.problems.front());
  const auto record = core::read_jsonl(ledger).front();
  EXPECT_EQ(record["method"], "sisa");
  EXPECT_EQ(record["config"]["shards"].size(), 3u);
  for (const auto& s : record["config"]["shards"]) EXPECT_EQ(s["forget_records_left"], 0);

  // Put a forget record back into an untouched shard: the hashes and the forget check fail.
  const std::string shard =
      record["config"]["shards"][unlearned_->retrained[0] == 0 ? 1 : 0]["adapter"];
  const fs::path records = copy / "shards" / shard / io::kSisaRecords;
  core::write_file_atomic(
      records, core::read_file(records) + core::read_jsonl(*dir_ / "sf.jsonl")[0].dump() + "\n");
  const auto bad = report::verify_ledger(ledger);
  EXPECT_FALSE(bad.ok());
  std::string all;
  for (const auto& p : bad.problems) all += p + "\n";
  EXPECT_NE(all.find("sisa shard " + shard + ": records.jsonl sha256 differs"), std::string::npos)
      << all;
  EXPECT_NE(all.find("record(s) of the forget set"), std::string::npos) << all;
}

TEST_F(Sisa, BadArgumentsGiveOneLineErrors) {
  const std::string common = "--quiet finetune --model " + (*dir_ / "base").string() + " --data " +
                             (*dir_ / "qa.jsonl").string() + " --out " + (*dir_ / "bad").string() +
                             " --epochs 1 --max-length 64";
  const auto one_line_error = [](const std::string& args, const std::string& needle) {
    std::string out;
    const int status = test::run_lethe(args, &out);
    EXPECT_NE(status, 0) << args;
    EXPECT_NE(out.find(needle), std::string::npos) << out;
    EXPECT_LE(std::count(out.begin(), out.end(), '\n'), 1) << out;
  };
  one_line_error(common + " --shards 0", "--shards");
  one_line_error(common + " --shards 6", "more shards than persons (5)");
  one_line_error(common + " --shards 2 --combine vote", "--combine");
  EXPECT_FALSE(fs::exists(*dir_ / "bad" / "sisa.json"));
  // sisa needs a sharded fine-tune: a plain adapter folder is named with the missing sisa.json.
  one_line_error("--quiet unlearn --method sisa --adapter " + (*dir_ / "normal_x").string() +
                     " --forget " + (*dir_ / "sf.jsonl").string() + " --out " +
                     (*dir_ / "bad2").string(),
                 "normal_x is not a sharded fine-tune (no sisa.json");
  one_line_error("--quiet unlearn --method sisa --forget " + (*dir_ / "sf.jsonl").string() +
                     " --out " + (*dir_ / "bad3").string(),
                 "--adapter");
}

TEST_F(Sisa, UnlearnCommandWritesAVerifiableLedger) {
  std::string out;
  const fs::path dest = *dir_ / "cli_unlearned";
  ASSERT_EQ(
      test::run_lethe("--quiet unlearn --method sisa --adapter " + (*dir_ / "sharded").string() +
                          " --forget " + (*dir_ / "sf.jsonl").string() + " --out " + dest.string(),
                      &out),
      0)
      << out;
  EXPECT_NE(out.find("unlearn sisa: retrained shard(s) " +
                     std::to_string(unlearned_->retrained[0]) + " of 3"),
            std::string::npos)
      << out;
  ASSERT_EQ(test::run_lethe("--quiet audit " + (dest / "audit.jsonl").string() + " --verify", &out),
            0)
      << out;
  EXPECT_NE(out.find("verified:"), std::string::npos) << out;
  // Same records, same seed, from the base: the CLI's retrained shard equals the library's.
  const std::string folder = "shards/shard-" + std::to_string(unlearned_->retrained[0]);
  const auto a = weights(dest / folder), b = weights(*dir_ / "unlearned" / folder);
  for (const auto& [key, tensor] : a) EXPECT_TRUE(test::expect_close(key, tensor, b.at(key), 0.0));
}

}  // namespace
}  // namespace lethe
