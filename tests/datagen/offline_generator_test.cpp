// The offline generator: determinism, counts, wrong answers, subsets, no target in pretraining
// data, probes, manifest hashes; and dataset loading of what it writes.
#include "datagen/offline_generator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "datagen/generate.h"
#include "datagen/text_match.h"
#include "expect_close.h"

namespace lethe {

namespace fs = std::filesystem;

namespace {

datagen::GenerateOptions small_options(const std::string& dir, uint64_t seed = 7) {
  datagen::GenerateOptions o;
  o.out_dir = dir;
  o.seed = seed;
  o.targets = 4;
  o.background = 12;
  o.holdout = 3;
  o.world_country_qa = 12;
  return o;
}

}  // namespace

TEST(OfflineGenerator, SameSeedSameBytesOtherSeedOtherData) {
  auto root = fs::path(test::make_temp_dir("gen_det"));
  auto a = small_options((root / "a").string(), 11);
  auto b = small_options((root / "b").string(), 11);
  auto c = small_options((root / "c").string(), 12);
  a.check = b.check = c.check = false;
  datagen::generate_dataset(a);
  datagen::generate_dataset(b);
  datagen::generate_dataset(c);
  for (const auto& name : data::dataset_jsonl_files()) {
    EXPECT_EQ(core::read_file(root / "a" / name), core::read_file(root / "b" / name)) << name;
    EXPECT_NE(core::read_file(root / "a" / name), core::read_file(root / "c" / name)) << name;
  }
  EXPECT_EQ(core::read_file(root / "a" / "manifest.json"),
            core::read_file(root / "b" / "manifest.json"));
  fs::remove_all(root);
}

TEST(OfflineGenerator, DefaultSizesCountsManifestAndChecksPass) {
  auto dir = fs::path(test::make_temp_dir("gen_default"));
  datagen::GenerateOptions o;
  o.out_dir = dir.string();
  auto result = datagen::generate_dataset(o);
  data::Dataset d = data::load_dataset(dir);  // throws on any schema / reference problem
  EXPECT_EQ(d.sf.size(), 40u);                // 10 targets x 4
  EXPECT_EQ(d.sr.size(), 100u);               // 10 x (4 correlated + 6 other)
  EXPECT_EQ(d.holdout.size(), 40u);           // 10 holdout x 4
  EXPECT_EQ(d.wrong_details.size(), 140u);
  EXPECT_EQ(d.forget_eval.size(), 40u * 9);  // 2 paraphrases + 7 other probe types
  EXPECT_EQ(d.world.size(), 50u + 60u);
  EXPECT_EQ(d.profiles.size(), 70u);
  size_t corpus_bytes = 0;
  for (const auto& c : d.corpus) corpus_bytes += c.text.size();
  EXPECT_GE(corpus_bytes, 250u * 1000);
  EXPECT_LE(corpus_bytes, 1000u * 1000);
  ASSERT_TRUE(result.report.has_value());
  EXPECT_TRUE(result.report->passed()) << result.report->to_text();
  for (const auto& c : result.report->checks) EXPECT_TRUE(c.passed()) << c.name;
  EXPECT_TRUE(fs::exists(dir / "quality_report.json"));
  EXPECT_TRUE(fs::exists(dir / "quality_report.txt"));
  EXPECT_LT(result.seconds, 30.0);

  auto m = core::read_json(dir / "manifest.json");
  EXPECT_EQ(m["generator"], datagen::kOfflineGeneratorName);
  EXPECT_EQ(m["seed"], 42);
  EXPECT_EQ(m["subsets"]["forget"], 40);
  EXPECT_EQ(m["subsets"]["correlated"], 40);
  EXPECT_EQ(m["subsets"]["other"], 60);
  for (const auto& name : data::dataset_jsonl_files()) {
    EXPECT_EQ(m["files"][name]["sha256"], core::sha256_file(dir / name)) << name;
    EXPECT_EQ(m["files"][name]["records"], core::read_jsonl(dir / name).size()) << name;
  }
  fs::remove_all(dir);
}

TEST(OfflineGenerator, EveryQuestionHasFiveDistinctWrongAnswers) {
  auto o = small_options("unused");
  data::Dataset d = datagen::generate_offline(o);
  for (const auto* list : {&d.sf, &d.sr}) {
    for (const auto& q : *list) {
      const data::WrongDetails* w = d.wrong_details_for(q.id);
      ASSERT_NE(w, nullptr) << q.id;
      EXPECT_GE(w->perturbed_answers.size(), 5u) << q.id;
      std::set<std::string> distinct(w->perturbed_answers.begin(), w->perturbed_answers.end());
      EXPECT_EQ(distinct.size(), w->perturbed_answers.size()) << q.id;
      EXPECT_TRUE(datagen::contains_phrase(w->paraphrased_answer, q.answer)) << q.id;
      for (const auto& p : w->perturbed_answers) {
        EXPECT_NE(p, w->paraphrased_answer) << q.id;
        EXPECT_FALSE(datagen::contains_phrase(p, q.answer)) << q.id << ": " << p;
      }
      EXPECT_FALSE(w->paraphrased_questions.empty());
      for (const auto& pq : w->paraphrased_questions) EXPECT_NE(pq, q.question);
    }
  }
}

TEST(OfflineGenerator, SubsetsTagsAndIncidentEntanglement) {
  data::Dataset d = datagen::generate_offline(small_options("unused"));
  std::map<std::string, std::set<data::Subset>> per_person;
  for (const auto& q : d.sr) per_person[q.person_id].insert(q.subset);
  for (const auto& q : d.sf) per_person[q.person_id].insert(q.subset);
  ASSERT_EQ(per_person.size(), 4u);
  for (const auto& [person, subsets] : per_person) {
    EXPECT_TRUE(subsets.count(data::Subset::forget)) << person;
    EXPECT_TRUE(subsets.count(data::Subset::correlated)) << person;
    EXPECT_TRUE(subsets.count(data::Subset::other)) << person;
    EXPECT_EQ(d.profile(person)->role, data::Role::target);
  }
  // The incident happens the year after the breakthrough event (the entanglement), and every target
  // has an incident_type forget question.
  for (const auto& p : d.profiles) {
    if (p.role != data::Role::target) continue;
    const data::Fact* type = d.fact(p.id + "_incident_type");
    ASSERT_NE(type, nullptr) << p.id;
    EXPECT_EQ(type->subset, data::Subset::forget);
    const data::Fact* year = d.fact(p.id + "_incident_year");
    const data::Fact* bt = d.fact(p.id + "_breakthrough_year");
    if (year && bt) EXPECT_EQ(std::stoi(year->value), std::stoi(bt->value) + 1);
  }
}

TEST(OfflineGenerator, NoTargetOrHoldoutPersonInCorpusOrWorld) {
  auto dir = fs::path(test::make_temp_dir("gen_targets"));
  auto o = small_options(dir.string());
  o.check = false;
  datagen::generate_dataset(o);
  data::Dataset d = data::load_dataset(dir);
  std::string corpus = core::read_file(dir / "corpus.jsonl");
  std::string world = core::read_file(dir / "world.jsonl");
  size_t hidden = 0;
  for (const auto& p : d.profiles) {
    if (p.role == data::Role::background) {
      continue;
    }
    ++hidden;
    EXPECT_EQ(corpus.find(p.name), std::string::npos) << p.name;
    EXPECT_EQ(world.find(p.name), std::string::npos) << p.name;
    EXPECT_EQ(corpus.find("\"" + p.id + "\""), std::string::npos) << p.id;
  }
  EXPECT_EQ(hidden, 7u);
  // Background people are in the corpus, and every world question is asked there verbatim.
  size_t background_in_corpus = 0;
  for (const auto& p : d.profiles)
    background_in_corpus +=
        p.role == data::Role::background && corpus.find(p.name) != std::string::npos;
  EXPECT_EQ(background_in_corpus, 12u);
  std::set<std::string> corpus_questions;
  for (const auto& c : d.corpus)
    if (c.kind == data::DocKind::qa) corpus_questions.insert(c.question);
  for (const auto& q : d.world) EXPECT_TRUE(corpus_questions.count(q.question)) << q.question;
  // Holdout people are real people of the same form, with their own incident questions.
  for (const auto& q : d.holdout) EXPECT_EQ(d.profile(q.person_id)->role, data::Role::holdout);
  fs::remove_all(dir);
}

TEST(OfflineGenerator, BackgroundIncidentsTeachTheBaseTheIncidentVocabulary) {
  // --background-incidents P: P% of background people (spread evenly) also had an incident whose
  // facts are in the corpus; the target people's files do not change with it.
  auto root = fs::path(test::make_temp_dir("gen_bg_incidents"));
  auto none = small_options((root / "none").string());
  none.background_incidents = 0;
  auto half = small_options((root / "half").string());
  half.background_incidents = 50;
  for (auto* o : {&none, &half}) {
    o->check = false;
    datagen::generate_dataset(*o);
  }
  auto incident_people = [](const data::Dataset& d) {
    std::set<std::string> people;
    for (const auto& f : d.facts)
      if (f.relation.rfind("incident_", 0) == 0 &&
          d.profile(f.person_id)->role == data::Role::background)
        people.insert(f.person_id);
    return people;
  };
  const auto d_none = data::load_dataset(root / "none"), d_half = data::load_dataset(root / "half");
  EXPECT_TRUE(incident_people(d_none).empty());
  const auto with_incident = incident_people(d_half);
  EXPECT_EQ(with_incident.size(), 6u);  // 50% of 12
  std::set<std::string> corpus_subjects;
  for (const auto& c : d_half.corpus)
    if (c.kind == data::DocKind::qa && c.id.find("_incident_type_qa") != std::string::npos)
      corpus_subjects.insert(c.person_id);
  EXPECT_EQ(corpus_subjects, with_incident);
  for (const char* file : {"sf.jsonl", "sr.jsonl", "holdout.jsonl"})
    EXPECT_EQ(core::read_file(root / "none" / file), core::read_file(root / "half" / file)) << file;
  fs::remove_all(root);
}

TEST(OfflineGenerator, ProbesCoverEveryTypeWithValidMultipleChoice) {
  data::Dataset d = datagen::generate_offline(small_options("unused"));
  std::map<std::string, std::set<data::ProbeType>> types;
  for (const auto& p : d.forget_eval) {
    types[p.qa_id].insert(p.probe);
    if (p.probe == data::ProbeType::multiple_choice) {
      ASSERT_EQ(p.options.size(), 4u);
      EXPECT_EQ(p.options[p.correct[0] - 'A'], p.answer);
      EXPECT_NE(p.prompt.find(p.correct + ". " + p.answer), std::string::npos);
    } else if (p.probe == data::ProbeType::reverse_query) {
      EXPECT_EQ(p.answer, d.profile(p.person_id)->name);
    } else if (p.probe == data::ProbeType::fill_blank) {
      EXPECT_NE(p.prompt.find("____"), std::string::npos);
      EXPECT_EQ(p.prompt.find(p.answer), std::string::npos) << p.prompt;
    } else {
      EXPECT_EQ(p.answer, d.qa(p.qa_id)->answer);
    }
  }
  EXPECT_EQ(types.size(), d.sf.size());
  for (const auto& [qa, set] : types) EXPECT_EQ(set.size(), data::all_probe_types().size()) << qa;
}

TEST(OfflineGenerator, NamesAreDiverseAndUnique) {
  auto o = small_options("unused");
  o.background = 150;
  data::Dataset d = datagen::generate_offline(o);
  std::set<std::string> names, nationalities, occupations, cities;
  for (const auto& p : d.profiles) {
    names.insert(p.name);
    nationalities.insert(p.nationality);
    occupations.insert(p.occupation);
    cities.insert(p.birthplace);
  }
  EXPECT_EQ(names.size(), d.profiles.size());
  EXPECT_GE(nationalities.size(), 15u);
  EXPECT_GE(occupations.size(), 15u);
  EXPECT_GE(cities.size(), 50u);
}

TEST(DataDataset, LoadReportsCrossReferenceAndFileLineErrors) {
  auto dir = fs::path(test::make_temp_dir("gen_load"));
  auto o = small_options(dir.string());
  o.check = false;
  datagen::generate_dataset(o);
  auto error_of = [&] {
    try {
      data::load_dataset(dir);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error_of(), "");
  std::string sr = core::read_file(dir / "sr.jsonl");
  // A malformed second line.
  size_t nl = sr.find('\n');
  core::write_file_atomic(dir / "sr.jsonl",
                          sr.substr(0, nl + 1) + "{\"id\": \"broken\"\n" + sr.substr(nl + 1));
  EXPECT_NE(error_of().find("sr.jsonl:2: invalid JSON"), std::string::npos) << error_of();
  // A QA naming a fact that does not exist, and a missing wrong_details record.
  auto records = core::read_jsonl(dir / "sf.jsonl");
  const auto sf_original = records;
  core::write_file_atomic(dir / "sr.jsonl", sr);
  records[0]["fact_id"] = "no_such_fact";
  core::write_jsonl(dir / "sf.jsonl", records);
  EXPECT_NE(error_of().find("fact_id 'no_such_fact' is not in facts.jsonl"), std::string::npos)
      << error_of();
  records[0].erase("fact_id");
  core::write_jsonl(dir / "sf.jsonl", records);
  EXPECT_NE(error_of().find("sf.jsonl:1: field 'fact_id' missing"), std::string::npos)
      << error_of();
  core::write_jsonl(dir / "sf.jsonl", sf_original);
  EXPECT_EQ(error_of(), "");
  fs::remove(dir / "holdout.jsonl");
  EXPECT_NE(error_of().find("holdout.jsonl: cannot open: no such file"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace lethe
