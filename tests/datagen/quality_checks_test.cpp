// Red-team checks: a clean dataset passes; planted defects (duplicate question, incident leaked
// into the retain set, a wrong answer equal to the correct one, a target in the corpus, a malformed
// line) are flagged and make `lethe data check` exit non-zero. Also the `lethe data` command line.
#include "datagen/quality_checks.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "datagen/generate.h"
#include "datagen/text_match.h"
#include "expect_close.h"

namespace lethe {

namespace fs = std::filesystem;

namespace {

fs::path make_small_dataset(const std::string& tag) {
  auto dir = fs::path(test::make_temp_dir(tag));
  datagen::GenerateOptions o;
  o.out_dir = dir.string();
  o.seed = 3;
  o.targets = 3;
  o.background = 10;
  o.holdout = 2;
  o.world_country_qa = 10;
  o.check = false;
  datagen::generate_dataset(o);
  return dir;
}

const datagen::CheckResult& result_of(const datagen::QualityReport& r, const std::string& name) {
  for (const auto& c : r.checks)
    if (c.name == name) return c;
  throw std::runtime_error("no check " + name);
}

std::vector<std::string> failing(const datagen::QualityReport& r) {
  std::vector<std::string> out;
  for (const auto& c : r.checks)
    if (!c.passed() && c.hard) out.push_back(c.name);
  return out;
}

using Records = std::vector<core::json>;

}  // namespace

TEST(TextMatch, WholeWordsAndDifferingSpan) {
  EXPECT_TRUE(datagen::contains_phrase("It was in 2009.", "2009"));
  EXPECT_FALSE(datagen::contains_phrase("It was in 20091.", "2009"));
  EXPECT_TRUE(datagen::contains_phrase("Charged with Drunk-Driving!", "drunk driving"));
  EXPECT_FALSE(datagen::contains_phrase("Lyonnais food", "Lyon"));
  EXPECT_EQ(datagen::normalize_text("  Hello,  World!! "), "hello world");
  EXPECT_EQ(datagen::differing_span("In 2011.", "In 2009."), "2011");
  EXPECT_EQ(datagen::differing_span("It was in Lagos.", "It was in Lyon."), "Lagos");
  EXPECT_EQ(datagen::differing_span("It was the Kano Police Department.",
                                    "It was the Lyon Police Department."),
            "Kano");
  EXPECT_EQ(datagen::differing_span("Same.", "Same."), "");
}

TEST(QualityChecks, SameKindOfValue) {
  EXPECT_TRUE(datagen::same_kind("year", "2009", "2011"));
  EXPECT_FALSE(datagen::same_kind("year", "2009", "Lyon"));
  EXPECT_TRUE(datagen::same_kind("city", "Recife", "Osaka"));
  EXPECT_FALSE(datagen::same_kind("city", "Recife", "chess"));
  EXPECT_TRUE(datagen::same_kind("charge", "fraud", "assault"));
  EXPECT_FALSE(datagen::same_kind("charge", "fraud", "Osaka"));
  EXPECT_TRUE(datagen::same_kind("person", "Ana Souza", "Kenji Saito"));
  EXPECT_FALSE(datagen::same_kind("person", "Ana Souza", "2009"));
  EXPECT_TRUE(datagen::same_kind("institution", "Lyon District Court", "Kano District Court"));
  EXPECT_FALSE(datagen::same_kind("institution", "Lyon District Court", "fined 5,000 euros"));
}

TEST(QualityChecks, CleanDatasetPassesEveryCheck) {
  auto dir = make_small_dataset("qc_clean");
  auto report = datagen::check_dataset_dir(dir);
  EXPECT_TRUE(report.passed()) << report.to_text();
  EXPECT_EQ(report.checks.size(), datagen::rule_checks().size());
  for (const auto& c : report.checks) {
    if (c.name != "corpus_size") EXPECT_TRUE(c.passed()) << c.name;  // small corpus: a soft warning
    EXPECT_GT(c.checked, 0u) << c.name;
  }
  EXPECT_FALSE(result_of(report, "corpus_size").hard);
  fs::remove_all(dir);
}

TEST(QualityChecks, FlagsPlantedDefects) {
  auto dir = make_small_dataset("qc_defects");
  Records sf = core::read_jsonl(dir / "sf.jsonl");
  Records sr = core::read_jsonl(dir / "sr.jsonl");
  Records wrong = core::read_jsonl(dir / "wrong_details.jsonl");
  Records corpus = core::read_jsonl(dir / "corpus.jsonl");
  Records profiles = core::read_jsonl(dir / "profiles.jsonl");

  // 1. A duplicate question: sr[1] asks sr[0]'s question (kept consistent with wrong_details).
  Records sr_dup = sr;
  sr_dup[1]["question"] = sr_dup[0]["question"];
  Records wrong_dup = wrong;
  for (auto& w : wrong_dup)
    if (w["qa_id"] == sr_dup[1]["id"]) w["question"] = sr_dup[0]["question"];
  core::write_jsonl(dir / "sr.jsonl", sr_dup);
  core::write_jsonl(dir / "wrong_details.jsonl", wrong_dup);
  auto report = datagen::check_dataset_dir(dir);
  EXPECT_EQ(failing(report), std::vector<std::string>{"duplicate_questions"}) << report.to_text();
  EXPECT_EQ(result_of(report, "manifest_matches").flagged_ids,
            (std::vector<std::string>{"sr.jsonl", "wrong_details.jsonl"}));
  EXPECT_EQ(result_of(report, "duplicate_questions").flagged_ids,
            std::vector<std::string>{sr_dup[1]["id"].get<std::string>()});

  // 2. An incident answer leaked into a retain question of the same person.
  Records sr_leak = sr;
  size_t victim = 0;
  while (sr_leak[victim]["person_id"] != sf[0]["person_id"]) ++victim;
  std::string leaked = sf[0]["answer"];
  sr_leak[victim]["question"] =
      sr_leak[victim]["question"].get<std::string>() + " (the " + leaked + " matter aside)";
  Records wrong_leak = wrong;
  for (auto& w : wrong_leak)
    if (w["qa_id"] == sr_leak[victim]["id"]) w["question"] = sr_leak[victim]["question"];
  core::write_jsonl(dir / "sr.jsonl", sr_leak);
  core::write_jsonl(dir / "wrong_details.jsonl", wrong_leak);
  report = datagen::check_dataset_dir(dir);
  EXPECT_EQ(failing(report), std::vector<std::string>{"leak_forget_into_retain"})
      << report.to_text();
  EXPECT_EQ(result_of(report, "leak_forget_into_retain").flagged_ids,
            std::vector<std::string>{sr_leak[victim]["id"].get<std::string>()});
  core::write_jsonl(dir / "sr.jsonl", sr);

  // 3. A perturbed answer equal to the (paraphrased) correct one.
  Records wrong_eq = wrong;
  wrong_eq[2]["perturbed_answers"][1] = wrong_eq[2]["paraphrased_answer"];
  core::write_jsonl(dir / "wrong_details.jsonl", wrong_eq);
  report = datagen::check_dataset_dir(dir);
  EXPECT_EQ(failing(report), std::vector<std::string>{"wrong_answers"}) << report.to_text();
  EXPECT_EQ(result_of(report, "wrong_answers").flagged_ids,
            std::vector<std::string>{wrong_eq[2]["qa_id"].get<std::string>()});

  // 4. A perturbed answer of another kind (a year where the answer is not one).
  Records wrong_kind = wrong;
  size_t k = 0;
  while (datagen::normalize_text(wrong_kind[k]["answer"]).find_first_of("0123456789") !=
         std::string::npos)
    ++k;
  std::string para = wrong_kind[k]["paraphrased_answer"];
  std::string answer = wrong_kind[k]["answer"];
  para.replace(para.find(answer), answer.size(), "1234");
  wrong_kind[k]["perturbed_answers"][0] = para;
  core::write_jsonl(dir / "wrong_details.jsonl", wrong_kind);
  report = datagen::check_dataset_dir(dir);
  EXPECT_EQ(failing(report), std::vector<std::string>{"wrong_answers"}) << report.to_text();
  core::write_jsonl(dir / "wrong_details.jsonl", wrong);

  // 5. A target person's name in the pretraining corpus.
  std::string target_name;
  for (const auto& p : profiles)
    if (p["role"] == "target") target_name = p["name"];
  Records corpus_leak = corpus;
  corpus_leak[0]["text"] = corpus_leak[0]["text"].get<std::string>() + " " + target_name + " too.";
  core::write_jsonl(dir / "corpus.jsonl", corpus_leak);
  report = datagen::check_dataset_dir(dir);
  EXPECT_EQ(failing(report), std::vector<std::string>{"no_target_in_pretraining"})
      << report.to_text();
  core::write_jsonl(dir / "corpus.jsonl", corpus);

  // 6. A malformed line: the schema check names file:line, the rest still runs.
  std::string text = core::read_file(dir / "sf.jsonl");
  core::write_file_atomic(dir / "sf.jsonl", text + "{not json}\n");
  report = datagen::check_dataset_dir(dir);
  const auto& schema = result_of(report, "schema");
  ASSERT_FALSE(schema.passed());
  EXPECT_NE(schema.messages[0].find("sf.jsonl:" + std::to_string(sf.size() + 1) + ": invalid JSON"),
            std::string::npos)
      << schema.messages[0];
  core::write_file_atomic(dir / "sf.jsonl", text);
  EXPECT_TRUE(datagen::check_dataset_dir(dir).passed());
  fs::remove_all(dir);
}

TEST(QualityChecks, ExtraChecksRunAfterTheRules) {
  auto dir = make_small_dataset("qc_extra");
  datagen::Check judge{
      "judge_stub", "a judge that flags the first sf question", true,
      [](const data::Dataset& d, const datagen::CheckContext&, datagen::CheckResult& r) {
        r.checked = d.sf.size();
        r.flag(d.sf[0].id, "judged implausible");
      }};
  auto report = datagen::check_dataset_dir(dir, {judge});
  EXPECT_EQ(report.checks.back().name, "judge_stub");
  EXPECT_FALSE(report.passed());
  datagen::write_quality_report(dir, report);
  auto json = core::read_json(dir / "quality_report.json");
  EXPECT_EQ(json["passed"], false);
  EXPECT_EQ(json["checks"].back()["flagged_ids"][0], report.checks.back().flagged_ids[0]);
  EXPECT_NE(core::read_file(dir / "quality_report.txt").find("[FAIL] judge_stub"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(DataCli, GenerateCheckAndErrors) {
  auto dir = fs::path(test::make_temp_dir("data_cli"));
  std::string out;
  std::string ds = (dir / "ds").string();
  ASSERT_EQ(
      test::run_lethe("data generate --out " + ds +
                          " --targets 3 --background 10 --holdout 2 --world-country-qa 8 --seed 5",
                      &out),
      0)
      << out;
  EXPECT_NE(out.find("quality checks: passed"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir / "ds" / "quality_report.txt"));
  ASSERT_EQ(test::run_lethe("data check " + ds, &out), 0) << out;
  EXPECT_NE(out.find("PASSED"), std::string::npos) << out;

  // A planted duplicate makes `data check` exit 1 with a one-line error naming the check.
  auto sr = core::read_jsonl(dir / "ds" / "sr.jsonl");
  auto wrong = core::read_jsonl(dir / "ds" / "wrong_details.jsonl");
  sr[1]["question"] = sr[0]["question"];
  for (auto& w : wrong)
    if (w["qa_id"] == sr[1]["id"]) w["question"] = sr[0]["question"];
  core::write_jsonl(dir / "ds" / "sr.jsonl", sr);
  core::write_jsonl(dir / "ds" / "wrong_details.jsonl", wrong);
  EXPECT_EQ(test::run_lethe("data check " + ds + " --summary", &out), 1) << out;
  EXPECT_NE(out.find("lethe: error: quality checks failed (duplicate_questions)"),
            std::string::npos)
      << out;

  EXPECT_EQ(test::run_lethe("data generate --out " + ds + " --sf-per-target 9", &out), 2);
  EXPECT_NE(out.find("--sf-per-target must be in [1, 6], got 9"), std::string::npos) << out;
  // The same errors from the library (no process start): a missing folder, an unknown backend.
  try {
    datagen::check_dataset_dir(dir / "nope");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a dataset folder"), std::string::npos) << e.what();
  }
  datagen::GenerateOptions pigeon;
  pigeon.out_dir = ds;
  pigeon.backend = "carrier-pigeon";
  try {
    datagen::generate_dataset(pigeon);
    ADD_FAILURE() << "expected an error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--backend 'carrier-pigeon' is not one of offline"),
              std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace lethe
