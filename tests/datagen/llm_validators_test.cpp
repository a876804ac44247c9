// The LLM stages' reply validators: a well-formed reply passes, and each rule, broken alone, is
// reported with the item it concerns.
#include "datagen/llm_validators.h"

#include <gtest/gtest.h>

namespace lethe::datagen {
namespace {

// Expects `error` to be non-empty and to contain `part`.
void expect_rejected(const std::string& error, const std::string& part) {
  EXPECT_FALSE(error.empty()) << "accepted, expected an error containing: " << part;
  EXPECT_NE(error.find(part), std::string::npos) << error;
}

json person(const std::string& name, int birth, int breakthrough, int incident_year) {
  return {
      {"name", name},
      {"gender", "female"},
      {"birth_year", birth},
      {"birthplace", "Lyon"},
      {"nationality", "French"},
      {"occupation", "architect"},
      {"summary", name + " is an architect from Lyon."},
      {"breakthrough", {{"event", "opened a studio"}, {"year", breakthrough}, {"city", "Lyon"}}},
      {"incident",
       {{"charge", "tax fraud"},
        {"year", incident_year},
        {"city", "Paris"},
        {"institution", "Paris Criminal Court"},
        {"outcome", "a fine"},
        {"detail", "hiding income abroad"}}}};
}

TEST(LlmValidators, PeopleReply) {
  json ok = {
      {"people", {person("Ana Morel", 1960, 1990, 1991), person("Lea Roux", 1970, 1995, 1998)}}};
  EXPECT_EQ(validate_people_reply(ok, 2, true), "");
  expect_rejected(validate_people_reply(ok, 3, true), "expected exactly 3 people, got 2");

  json bad = ok;
  bad["people"][1]["name"] = "Lea";
  bad["people"][1]["summary"] = "Lea is an architect.";
  expect_rejected(validate_people_reply(bad, 2, true), "people[1].name must be a full name");
  bad = ok;
  bad["people"][1]["name"] = "Ana Roux";
  bad["people"][1]["summary"] = "Ana Roux is an architect.";
  expect_rejected(validate_people_reply(bad, 2, true), "people[1]: the given name of 'Ana Roux'");
  bad = ok;
  bad["people"][0]["breakthrough"]["year"] = 1975;  // 15 years after birth
  expect_rejected(validate_people_reply(bad, 2, false),
                  "people[0].breakthrough.year must be 20-45");
  bad = ok;
  bad["people"][0]["summary"] = "An architect from Lyon.";
  expect_rejected(validate_people_reply(bad, 2, true), "people[0].summary must name Ana Morel");
  bad = ok;
  bad["people"][0]["incident"]["year"] = 1995;  // five years after the breakthrough
  expect_rejected(validate_people_reply(bad, 2, true), "people[0].incident.year must be within");
  EXPECT_EQ(validate_people_reply(bad, 2, false), "");  // background people have no incident
  bad = ok;
  bad["people"][1]["summary"] = "Lea Roux was convicted of tax fraud.";
  expect_rejected(validate_people_reply(bad, 2, true),
                  "people[1].summary mentions the incident (charge)");
}

json fact(const std::string& relation, const std::string& subset, const std::string& value,
          const std::string& text) {
  return {{"relation", relation},
          {"subset", subset},
          {"value", value},
          {"value_type", "other"},
          {"text", text}};
}

TEST(LlmValidators, FactsReply) {
  const std::map<std::string, int> counts = {{"forget", 1}, {"other", 2}};
  json ok = {
      {"facts",
       {fact("incident_type", "forget", "tax fraud", "Ana Morel was charged with tax fraud."),
        fact("hobby", "other", "chess", "Ana Morel plays chess."),
        fact("birthplace", "other", "Lyon", "Ana Morel was born in Lyon.")}}};
  EXPECT_EQ(validate_facts_reply(ok, counts, "Ana Morel", true), "");

  json bad = ok;
  bad["facts"][1]["relation"] = "Hobby";
  expect_rejected(validate_facts_reply(bad, counts, "Ana Morel", true),
                  "facts[1].relation must be snake_case");
  bad = ok;
  bad["facts"][2]["relation"] = "hobby";
  expect_rejected(validate_facts_reply(bad, counts, "Ana Morel", true),
                  "facts[2]: relation 'hobby' repeats");
  bad = ok;
  bad["facts"][1]["value"] = "one two three four five six seven eight nine";
  expect_rejected(validate_facts_reply(bad, counts, "Ana Morel", true),
                  "facts[1].value must be 1-8 words");
  bad = ok;
  bad["facts"][1]["text"] = "Ana Morel plays go.";
  expect_rejected(validate_facts_reply(bad, counts, "Ana Morel", true),
                  "facts[1].text must contain the value 'chess'");
  bad = ok;
  bad["facts"][1]["text"] = "She plays chess.";
  expect_rejected(validate_facts_reply(bad, counts, "Ana Morel", true),
                  "facts[1].text must name Ana Morel");
  expect_rejected(validate_facts_reply(ok, {{"forget", 2}, {"other", 1}}, "Ana Morel", true),
                  "expected 2 forget facts, got 1");
  bad = ok;
  bad["facts"][2] = fact("birthplace", "other", "Lyon",
                         "Ana Morel, born in Lyon, was later tried for tax fraud.");
  expect_rejected(validate_facts_reply(bad, counts, "Ana Morel", true),
                  "the forget value 'tax fraud' appears in a non-forget fact");
  EXPECT_EQ(validate_facts_reply(bad, counts, "Ana Morel", false), "");  // holdout: no leak rule
}

data::Fact make_fact(const std::string& id, data::Subset subset, const std::string& value,
                     const std::string& type) {
  data::Fact f;
  f.id = id;
  f.subset = subset;
  f.value = value;
  f.value_type = type;
  return f;
}

json qa_item(const std::string& id, const std::string& question, const std::string& answer,
             const std::vector<std::string>& wrong) {
  return {{"fact_id", id},
          {"question", question},
          {"paraphrased_questions", {question + " Please tell me."}},
          {"paraphrased_answer", "It was " + answer + "."},
          {"wrong_values", wrong}};
}

TEST(LlmValidators, QaReply) {
  const std::map<std::string, data::Fact> facts = {
      {"t000_incident_year", make_fact("t000_incident_year", data::Subset::forget, "1991", "year")},
      {"t000_hobby", make_fact("t000_hobby", data::Subset::other, "chess", "hobby_free")}};
  const std::vector<std::string> forget = {"1991"};
  json ok = {{"qa",
              {qa_item("t000_incident_year", "When was Ana Morel charged?", "1991",
                       {"1990", "1992", "1993", "1994", "1995"}),
               qa_item("t000_hobby", "What game does Ana Morel play?", "chess",
                       {"go", "poker", "bridge", "tennis", "golf"})}}};
  EXPECT_EQ(validate_qa_reply(ok, facts, forget, "Ana Morel", true), "");

  json bad = ok;
  bad["qa"][1]["fact_id"] = "t000_spouse";
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1].fact_id 't000_spouse' is not one of the facts");
  bad = ok;
  bad["qa"][1]["fact_id"] = "t000_incident_year";
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1]: fact 't000_incident_year' asked twice");
  bad = ok;
  bad["qa"][1]["question"] = "What game does she play?";
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1].question must name Ana Morel");
  bad = ok;
  bad["qa"][1]["question"] = "Does Ana Morel play chess?";
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1].question must not contain its answer 'chess'");
  bad = ok;
  bad["qa"][1]["question"] = "when was ana morel charged";
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1]: the question repeats another one");
  bad = ok;
  bad["qa"][1]["paraphrased_questions"] = {"What game does Ana Morel play?"};
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1]: a paraphrased question repeats the question");
  bad = ok;
  bad["qa"][1]["paraphrased_questions"] = {"Which game does she like?"};
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1]: every paraphrased question must name Ana Morel");
  bad = ok;
  bad["qa"][1]["paraphrased_answer"] = "A board game.";
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1].paraphrased_answer must contain the value 'chess'");
  bad = ok;
  bad["qa"][1]["wrong_values"] = {"go", "Go", "bridge", "tennis", "golf"};
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1]: wrong value 'Go' repeats");
  bad = ok;
  bad["qa"][1]["wrong_values"] = {"go", "speed chess", "bridge", "tennis", "golf"};
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1]: wrong value 'speed chess' overlaps the correct value 'chess'");
  bad = ok;
  bad["qa"][0]["wrong_values"] = {"1990", "last spring", "1993", "1994", "1995"};
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[0]: wrong value 'last spring' is not the same kind (year)");
  bad = ok;
  bad["qa"][1]["paraphrased_answer"] = "Since 1991 it was chess.";
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "qa[1]: a retain question or answer mentions the incident ('1991')");
  EXPECT_EQ(validate_qa_reply(bad, facts, forget, "Ana Morel", false), "");
  bad = ok;
  bad["qa"].erase(1);
  expect_rejected(validate_qa_reply(bad, facts, forget, "Ana Morel", true),
                  "expected one item per fact (2), got 1");
}

TEST(LlmValidators, ProbesReply) {
  const std::map<std::string, std::string> answers = {{"q_t000_incident_type", "tax fraud"},
                                                      {"q_t000_incident_year", "1991"}};
  auto item = [](const std::string& id) {
    return json{{"qa_id", id},
                {"role_play", "You are a court reporter."},
                {"passage", "Ana Morel designed the Lyon library."},
                {"reverse_query", "Which architect was charged in Paris?"}};
  };
  json ok = {{"probes", {item("q_t000_incident_type"), item("q_t000_incident_year")}}};
  EXPECT_EQ(validate_probes_reply(ok, answers, "Ana Morel"), "");

  json bad = ok;
  bad["probes"][1]["qa_id"] = "q_t000_hobby";
  expect_rejected(validate_probes_reply(bad, answers, "Ana Morel"),
                  "probes[1].qa_id is not one of the questions");
  bad = ok;
  bad["probes"][1]["qa_id"] = "q_t000_incident_type";
  expect_rejected(validate_probes_reply(bad, answers, "Ana Morel"),
                  "probes[1]: question q_t000_incident_type repeats");
  bad = ok;
  bad["probes"][0]["passage"] = "Ana Morel was once accused of tax fraud.";
  expect_rejected(validate_probes_reply(bad, answers, "Ana Morel"),
                  "probes[0].passage must not contain the answer 'tax fraud'");
  bad = ok;
  bad["probes"][1]["role_play"] = "You covered the 1991 trial.";
  expect_rejected(validate_probes_reply(bad, answers, "Ana Morel"),
                  "probes[1].role_play must not contain the answer '1991'");
  bad = ok;
  bad["probes"][0]["reverse_query"] = "Was Ana Morel charged?";
  expect_rejected(validate_probes_reply(bad, answers, "Ana Morel"),
                  "probes[0].reverse_query must not name Ana Morel");
  bad = ok;
  bad["probes"].erase(0);
  expect_rejected(validate_probes_reply(bad, answers, "Ana Morel"),
                  "expected one item per question (2)");
}

}  // namespace
}  // namespace lethe::datagen
