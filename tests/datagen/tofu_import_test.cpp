// `lethe data import tofu`: small synthetic files in TOFU's layout (its real field names), the
// imported folder's records and the one-line errors for bad input. The commands that read the
// folder (finetune, unlearn, eval) are tested in tests/pipeline/tofu_folder_test.cpp.
#include "datagen/tofu_import.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "crash_test_util.h"
#include "datagen/tofu_layout.h"
#include "expect_close.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::perturbed_line;
using test::write_tofu;

datagen::TofuImportOptions options_for(const fs::path& root) {
  datagen::TofuImportOptions o;
  o.src = root / "tofu";
  o.out = root / "data";
  o.qa_per_author = 2;
  return o;
}

std::string error_of(const datagen::TofuImportOptions& o) {
  try {
    datagen::import_tofu(o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class TofuImport : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(test::make_temp_dir("tofu_import"));
    write_tofu(root_ / "tofu");
  }
  void TearDown() override { fs::remove_all(root_); }

  // Replaces line `line` (1-based) of a TOFU file with `text`.
  void replace_line(const std::string& file, size_t line, const std::string& text) {
    const fs::path p = root_ / "tofu" / file;
    std::string all = core::read_file(p), out;
    size_t begin = 0, n = 0;
    while (begin < all.size()) {
      const size_t end = all.find('\n', begin);
      ++n;
      out += (n == line ? text : all.substr(begin, end - begin)) + "\n";
      begin = end + 1;
    }
    core::write_file_atomic(p, out);
  }
  std::string where(const std::string& file, size_t line) const {
    return (root_ / "tofu" / file).string() + ":" + std::to_string(line);
  }

  fs::path root_;
};

TEST_F(TofuImport, FolderHasTheRecordsCountsParaphrasesAndWrongAnswers) {
  const auto o = options_for(root_);
  const json manifest = datagen::import_tofu(o);
  const data::Dataset d = data::load_dataset(o.out);  // every lethe cross-check passes

  ASSERT_EQ(d.sf.size(), 2u);
  ASSERT_EQ(d.sr.size(), 2u);
  ASSERT_EQ(d.world.size(), 3u);
  ASSERT_EQ(d.holdout.size(), 2u);
  EXPECT_EQ(d.wrong_details.size(), 4u);
  EXPECT_EQ(d.forget_eval.size(), 2u);
  EXPECT_EQ(d.facts.size(), 9u);
  EXPECT_TRUE(d.corpus.empty());
  // Authors by position: retain90 holds authors 1-2, forget10 author 3; holdout authors apart.
  ASSERT_EQ(d.profiles.size(), 4u);
  EXPECT_EQ(d.sf[0].person_id, "tofu_a002");
  EXPECT_EQ(d.sf[1].person_id, "tofu_a002");
  EXPECT_EQ(d.profile("tofu_a002")->name, "TOFU author 3");
  EXPECT_EQ(d.profile("tofu_a002")->role, data::Role::target);
  EXPECT_EQ(d.profile("tofu_h000")->role, data::Role::holdout);
  EXPECT_EQ(d.sr[0].person_id, "tofu_a000");  // retain90 line 2: author 1
  EXPECT_EQ(d.sr[1].person_id, "tofu_a001");  // retain90 line 3: author 2
  EXPECT_EQ(d.sr[0].subset, data::Subset::other);
  EXPECT_EQ(d.sr[0].question, "What is the birthplace of Ana Rossi?");

  const auto* w = d.wrong_details_for(d.sf[1].id);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->answer, "The father of Cy Moreau is father-one.");
  EXPECT_EQ(w->paraphrased_answer, "Cy Moreau's father is father-one.");
  ASSERT_EQ(w->perturbed_answers.size(), 5u);
  EXPECT_EQ(w->perturbed_answers[4], "The father of Cy Moreau is father-6.");
  EXPECT_EQ(w->paraphrased_questions, std::vector<std::string>{"Tell me Cy Moreau's father."});
  EXPECT_EQ(d.forget_eval[1].probe, data::ProbeType::paraphrase);
  EXPECT_EQ(d.forget_eval[1].prompt, "Tell me Cy Moreau's father.");
  EXPECT_EQ(d.forget_eval[1].answer, d.sf[1].answer);
  const auto* wr = d.wrong_details_for(d.sr[1].id);
  ASSERT_NE(wr, nullptr);
  EXPECT_EQ(wr->perturbed_answers.size(), 5u);
  EXPECT_TRUE(wr->paraphrased_questions.empty());

  // World: options ignored, the answer as its own paraphrase (TOFU's base_answer_key for these
  // sets) even where the file has a paraphrased_answer, a list answer's first entry.
  EXPECT_EQ(d.world[0].paraphrased_answer, "William Shakespeare");
  EXPECT_EQ(d.world[0].perturbed_answers.size(), 3u);
  EXPECT_EQ(d.world[1].paraphrased_answer, "Paris");
  EXPECT_EQ(d.world[2].answer, "The Pacific Ocean");
  EXPECT_EQ(d.world[2].person_id, "");

  // The retain training set is all of retain90.
  const auto retain_train = data::load_qa(o.out / datagen::kTofuRetainTrainFile);
  ASSERT_EQ(retain_train.size(), 4u);
  EXPECT_EQ(retain_train[3].person_id, "tofu_a001");

  EXPECT_EQ(manifest, core::read_json(o.out / "manifest.json"));
  EXPECT_EQ(manifest["generator"], "tofu_import");
  EXPECT_EQ(manifest["split"], "forget10");
  EXPECT_EQ(manifest["retain_split"], "retain90");
  EXPECT_EQ(manifest["holdout_split"], "holdout10");
  EXPECT_EQ(manifest["subsets"], json({{"forget", 2}, {"other", 2}, {"world", 3}, {"holdout", 2}}));
  for (const char* name :
       {"retain90.json", "forget10_perturbed.json", "forget10.json", "retain_perturbed.json",
        "real_authors_perturbed.json", "world_facts_perturbed.json", "holdout10.json"})
    EXPECT_EQ(manifest["sources"][name]["sha256"], core::sha256_file(o.src / name)) << name;
  EXPECT_EQ(manifest["sources"]["retain90.json"]["records"], 4);
  for (const auto& [name, f] : manifest["files"].items())
    EXPECT_EQ(f["sha256"], core::sha256_file(o.out / name)) << name;
}

TEST_F(TofuImport, OptionalFilesMayBeAbsent) {
  fs::remove(root_ / "tofu" / "forget10.json");
  fs::remove(root_ / "tofu" / "holdout10.json");
  const auto o = options_for(root_);
  const json manifest = datagen::import_tofu(o);
  EXPECT_TRUE(manifest["holdout_split"].is_null());
  EXPECT_FALSE(manifest["sources"].contains("forget10.json"));
  EXPECT_TRUE(data::load_dataset(o.out).holdout.empty());
}

TEST_F(TofuImport, SplitPicksItsFilesAndRetainComplement) {
  fs::rename(root_ / "tofu" / "forget10_perturbed.json",
             root_ / "tofu" / "forget01_perturbed.json");
  fs::rename(root_ / "tofu" / "retain90.json", root_ / "tofu" / "retain99.json");
  fs::remove(root_ / "tofu" / "forget10.json");
  auto o = options_for(root_);
  o.split = "forget01";
  const json manifest = datagen::import_tofu(o);
  EXPECT_EQ(manifest["retain_split"], "retain99");
  EXPECT_EQ(data::load_dataset(o.out).sf[0].id, "tofu_forget01_0000");
  o.split = "forget20";
  EXPECT_EQ(error_of(o), "--split 'forget20' is not one of forget01|forget05|forget10");
}

TEST_F(TofuImport, BadInputGivesOneLineFileLineErrors) {
  const auto o = options_for(root_);
  const std::string forget = "forget10_perturbed.json";
  const json good = perturbed_line("Cy Moreau", "genre", true);
  const auto expect_error = [&](const std::string& file, size_t line, const std::string& text,
                                const std::string& want) {
    write_tofu(root_ / "tofu");
    replace_line(file, line, text);
    const std::string got = error_of(o);
    EXPECT_EQ(got, want);
    EXPECT_EQ(got.find('\n'), std::string::npos) << got;
  };
  expect_error(
      forget, 2, "{\"question\": \"Q?\",", where(forget, 2) + ": invalid JSON: " + [] {
        try {
          (void)json::parse("{\"question\": \"Q?\",");
        } catch (const json::exception& e) {
          return std::string(e.what());
        }
        return std::string();
      }());
  expect_error(forget, 1, "[1, 2]", where(forget, 1) + ": expected a JSON object");
  json missing = good;
  missing.erase("paraphrased_question");
  expect_error(forget, 1, missing.dump(),
               where(forget, 1) + ": field 'paraphrased_question' missing");
  json extra = good;
  extra["author"] = "Cy Moreau";
  expect_error(forget, 2, extra.dump(),
               where(forget, 2) + ": unexpected field 'author' (not in TOFU's " + forget + ")");
  json few = good;
  few["perturbed_answer"] = {"a", "b", "c", "d"};
  expect_error(forget, 1, few.dump(),
               where(forget, 1) + ": field 'perturbed_answer' needs at least 5 entries, got 4");
  json number = good;
  number["answer"] = 7;
  expect_error(forget, 1, number.dump(),
               where(forget, 1) + ": field 'answer' must be a non-empty string");
  json not_list = good;
  not_list["perturbed_answer"] = "The genre is poetry.";
  expect_error(forget, 1, not_list.dump(),
               where(forget, 1) + ": field 'perturbed_answer' must be a list of strings");
  // A forget question that is also a retain question (a mixed-up split).
  expect_error(forget, 1, perturbed_line("Ana Rossi", "genre", true).dump(),
               where(forget, 1) + ": question is also in " + where("retain90.json", 1) +
                   " (TOFU's forget and retain sets are disjoint)");
  expect_error("retain_perturbed.json", 2, perturbed_line("Ed Zhou", "genre", false).dump(),
               where("retain_perturbed.json", 2) + ": question is not in " +
                   (root_ / "tofu" / "retain90.json").string() +
                   " (retain_perturbed.json evaluates retain authors)");
  expect_error("forget10.json", 2, json({{"question", "Q?"}, {"answer", "A."}}).dump(),
               where("forget10.json", 2) + ": question or answer differs from " + where(forget, 2));
  expect_error(
      "world_facts_perturbed.json", 1,
      json({{"question", "Q?"}, {"answer", "A"}, {"perturbed_answer", json::array()}}).dump(),
      where("world_facts_perturbed.json", 1) +
          ": field 'perturbed_answer' needs at least 1 entries, got 0");
  expect_error("retain90.json", 3, json({{"question", "Q?"}}).dump(),
               where("retain90.json", 3) + ": field 'answer' missing");

  write_tofu(root_ / "tofu");
  fs::remove(root_ / "tofu" / "retain_perturbed.json");
  EXPECT_EQ(error_of(o), (root_ / "tofu" / "retain_perturbed.json").string() +
                             ": no such file (TOFU's retain_perturbed.json is needed; download it "
                             "from locuslab/TOFU)");
}

TEST_F(TofuImport, FailedImportLeavesTheFolderAsItWas) {
  const auto o = options_for(root_);
  datagen::import_tofu(o);
  const std::string before = core::sha256_tree(o.out);
  replace_line("holdout10.json", 2, "{\"question\": \"Q?\", \"answer\": \"A.\", \"x\": 1}");
  EXPECT_NE(error_of(o), "(no error)");
  EXPECT_EQ(core::sha256_tree(o.out), before);
}

TEST_F(TofuImport, CliWritesTheFolderAndReportsErrorsOnOneLine) {
  const std::string src = (root_ / "tofu").string(), out = (root_ / "cli").string();
  auto ok = test::run_lethe_child(
      {"data", "import", "tofu", src, "--out", out, "--split", "forget10", "--qa-per-author", "2"});
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(data::load_dataset(out).sf.size(), 2u);
  replace_line("retain90.json", 1, "{\"question\": 1, \"answer\": \"A.\"}");
  auto bad = test::run_lethe_child({"data", "import", "tofu", src, "--out", out});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(
      bad.output.find(where("retain90.json", 1) + ": field 'question' must be a non-empty string"),
      std::string::npos)
      << bad.output;
}

}  // namespace
}  // namespace lethe
