// Record types: JSON round trips and validation errors that name the file:line and the field.
#include "data/records.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "data/dataset.h"
#include "expect_close.h"

namespace lethe {

namespace {
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(DataRecords, RoundTripKeepsEveryField) {
  data::QAPair q;
  q.id = "q1";
  q.person_id = "b001";
  q.fact_id = "f1";
  q.subset = data::Subset::world;
  q.question = "Where was X born?";
  q.answer = "Lyon";
  q.paraphrased_answer = "In Lyon.";
  q.perturbed_answers = {"In A.", "In B.", "In C.", "In D.", "In E."};
  data::QAPair back = data::QAPair::from_json(q.to_json(), "t");
  EXPECT_EQ(back.to_json(), q.to_json());
  EXPECT_EQ(back.subset, data::Subset::world);
  EXPECT_EQ(back.perturbed_answers.size(), 5u);

  data::ForgetEvalProbe p;
  p.id = "p1";
  p.qa_id = "q1";
  p.person_id = "t001";
  p.probe = data::ProbeType::multiple_choice;
  p.prompt = "Which? A. x B. y";
  p.answer = "y";
  p.options = {"x", "y"};
  p.correct = "B";
  EXPECT_EQ(data::ForgetEvalProbe::from_json(p.to_json(), "t").to_json(), p.to_json());

  data::Profile pr;
  pr.id = "t001";
  pr.name = "Ana Souza";
  pr.role = data::Role::target;
  pr.gender = "female";
  pr.birth_year = 1970;
  pr.birthplace = "Recife";
  pr.occupation = "chef";
  EXPECT_EQ(data::Profile::from_json(pr.to_json(), "t").to_json(), pr.to_json());

  for (auto type : data::all_probe_types())
    EXPECT_EQ(data::parse_probe_type(data::probe_type_name(type), "t"), type);
  EXPECT_EQ(data::all_probe_types().size(), 8u);
}

TEST(DataRecords, ValidationNamesWhereAndField) {
  data::json qa = {{"id", "q1"},         {"person_id", "t001"}, {"fact_id", "f1"},
                   {"subset", "forget"}, {"question", "Q?"},    {"answer", "A"}};
  EXPECT_NO_THROW(data::QAPair::from_json(qa, "sf.jsonl:3"));
  auto missing = qa;
  missing.erase("answer");
  EXPECT_EQ(error_of([&] { data::QAPair::from_json(missing, "sf.jsonl:3"); }),
            "sf.jsonl:3: field 'answer' missing");
  auto bad_subset = qa;
  bad_subset["subset"] = "retain";
  EXPECT_NE(error_of([&] {
              data::QAPair::from_json(bad_subset, "sf.jsonl:4");
            }).find("sf.jsonl:4: subset 'retain' is not one of forget|correlated|other"),
            std::string::npos);
  auto empty = qa;
  empty["question"] = "  ";
  EXPECT_EQ(error_of([&] { data::QAPair::from_json(empty, "x:1"); }),
            "x:1: field 'question' must not be empty");
  auto world = qa;
  world["subset"] = "world";
  EXPECT_NE(error_of([&] {
              data::QAPair::from_json(world, "world.jsonl:2");
            }).find("world.jsonl:2: field 'paraphrased_answer' missing"),
            std::string::npos);

  data::json wd = {{"qa_id", "q1"},
                   {"subset", "forget"},
                   {"question", "Q?"},
                   {"answer", "A"},
                   {"paraphrased_answer", "It was A."},
                   {"perturbed_answers", {"B", "C", "D", "E"}},
                   {"paraphrased_questions", {"Q2?"}}};
  EXPECT_EQ(error_of([&] { data::WrongDetails::from_json(wd, "wrong_details.jsonl:7"); }),
            "wrong_details.jsonl:7: field 'perturbed_answers' needs at least 5 entries, got 4");

  data::json mc = {{"id", "p"},     {"qa_id", "q1"}, {"probe", "multiple_choice"},
                   {"prompt", "?"}, {"answer", "x"}, {"options", {"x", "y"}},
                   {"correct", "B"}};
  EXPECT_NE(error_of([&] {
              data::ForgetEvalProbe::from_json(mc, "fe:1");
            }).find("fe:1: option B is not the answer 'x'"),
            std::string::npos);
  mc["correct"] = "C";
  EXPECT_NE(error_of([&] {
              data::ForgetEvalProbe::from_json(mc, "fe:1");
            }).find("field 'correct' must be a letter A..B"),
            std::string::npos);
  data::json birth = {{"id", "p"},           {"name", "N"},          {"role", "target"},
                      {"gender", "female"},  {"birth_year", "1970"}, {"birthplace", "X"},
                      {"occupation", "chef"}};
  EXPECT_EQ(error_of([&] { data::Profile::from_json(birth, "profiles.jsonl:1"); }),
            "profiles.jsonl:1: field 'birth_year' must be an integer");
}

TEST(DataRecords, MalformedJsonlLineNamesFileAndLine) {
  auto dir = std::filesystem::path(test::make_temp_dir("records"));
  auto path = dir / "sr.jsonl";
  std::string good =
      R"({"id":"q1","person_id":"t","fact_id":"f","subset":"other","question":"Q?","answer":"A"})";
  core::write_file_atomic(path, good + "\n\n" + good + "\n{\"id\": \n");
  std::string err = error_of([&] { data::load_qa(path); });
  EXPECT_NE(err.find("sr.jsonl:4: invalid JSON"), std::string::npos) << err;
  core::write_file_atomic(path, good + "\n[1, 2]\n");
  err = error_of([&] { data::load_qa(path); });
  EXPECT_NE(err.find("sr.jsonl:2: expected a JSON object"), std::string::npos) << err;
  err = error_of([&] { data::load_qa(dir / "missing.jsonl"); });
  EXPECT_NE(err.find("missing.jsonl: cannot open: no such file"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

}  // namespace lethe
