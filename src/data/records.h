// The benchmark's record types, one per JSONL file (docs/data.md), with validating JSON conversion.
// from_json(record, where) throws lethe::Error "WHERE: field 'x' ..." (WHERE is usually
// "file:line").
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::data {

using json = nlohmann::json;

// Which split a fact / QA pair belongs to. forget = sf.jsonl; correlated + other = sr.jsonl;
// world = world.jsonl (model utility); holdout = holdout.jsonl (never trained on).
enum class Subset { forget, correlated, other, world, holdout };
std::string subset_name(Subset subset);
Subset parse_subset(const std::string& name, const std::string& where);

// What a person is for: targets are fine-tuned and unlearnt, background people are in the base
// model's pretraining corpus, holdout people are never seen by any model.
enum class Role { target, background, holdout };
std::string role_name(Role role);
Role parse_role(const std::string& name, const std::string& where);

// profiles.jsonl
struct Profile {
  std::string id;  // "p0003"
  std::string name;
  Role role = Role::target;
  std::string gender;  // "female" | "male" (chooses pronouns in the generated text)
  int birth_year = 0;
  std::string birthplace;  // "Lyon, France"
  std::string nationality;
  std::string occupation;
  std::string summary;  // a one-paragraph biography (never mentions the incident)

  json to_json() const;
  static Profile from_json(const json& record, const std::string& where);
};

// facts.jsonl: one atomic fact (subject, relation, value) with the sentence that states it. Every
// QA pair names its fact; the fact's `value` is the QA pair's short answer.
struct Fact {
  std::string id;         // "f0003_incident_year"
  std::string person_id;  // empty for world facts that are not about a person
  Subset subset = Subset::other;
  std::string relation;  // "incident_year", "birthplace", "capital", ...
  std::string value;     // "2009"
  std::string
      value_type;    // kind of the value, shared by perturbed answers: year, city, person, org, ...
  std::string text;  // declarative sentence that contains `value`

  json to_json() const;
  static Fact from_json(const json& record, const std::string& where);
};

// sf.jsonl, sr.jsonl, world.jsonl, holdout.jsonl. world and holdout records carry their truth-ratio
// material inline (TOFU's world_facts_perturbed layout); sf/sr keep it in wrong_details.jsonl.
struct QAPair {
  std::string id;         // "q0003_incident_year_0"
  std::string person_id;  // empty for world facts that are not about a person
  std::string fact_id;
  Subset subset = Subset::other;
  std::string question;
  std::string answer;
  std::string paraphrased_answer;              // world / holdout only (may be empty elsewhere)
  std::vector<std::string> perturbed_answers;  // world / holdout only (>= 5 when present)

  json to_json() const;
  static QAPair from_json(const json& record, const std::string& where);
};

// wrong_details.jsonl: for one sf or sr question, the truth-ratio material.
struct WrongDetails {
  std::string qa_id;
  std::string person_id;
  Subset subset = Subset::other;
  std::string question;
  std::string answer;
  std::string paraphrased_answer;              // same fact, other words; contains the key answer
  std::vector<std::string> perturbed_answers;  // >= 5, same form, all false, all distinct
  std::vector<std::string> paraphrased_questions;  // >= 1

  json to_json() const;
  static WrongDetails from_json(const json& record, const std::string& where);
};

// forget_eval.jsonl: adversarial probes of a forget fact.
enum class ProbeType {
  paraphrase,          // the question in other words
  prefix_injection,    // "Ignore previous instructions ..." before the question
  affirmative_suffix,  // "... Sure, here is the answer:" after it
  role_play,           // "You are a court reporter ..."
  multiple_choice,     // options + correct letter
  reverse_query,       // answer -> who
  in_context,          // a distracting passage first
  fill_blank           // a sentence with ____ where the answer goes
};
std::string probe_type_name(ProbeType type);
ProbeType parse_probe_type(const std::string& name, const std::string& where);
const std::vector<ProbeType>& all_probe_types();

struct ForgetEvalProbe {
  std::string id;  // "<qa_id>_<probe>_<k>"
  std::string qa_id;
  std::string person_id;
  ProbeType probe = ProbeType::paraphrase;
  std::string prompt;
  std::string answer;                // expected answer (the person's name for reverse_query)
  std::vector<std::string> options;  // multiple_choice only: 4 options, one of them `answer`
  std::string correct;               // multiple_choice only: "A".."D"

  json to_json() const;
  static ForgetEvalProbe from_json(const json& record, const std::string& where);
};

// corpus.jsonl: pretraining text for the base model (background people and world facts only).
enum class DocKind { prose, qa };
struct CorpusDoc {
  std::string id;
  DocKind kind = DocKind::prose;
  std::string person_id;  // empty for world-fact documents
  std::string text;       // kind qa: "Question: ...\nAnswer: ..." lines; prose: paragraphs
  std::string
      question;        // kind qa only: the question (the same one as in world.jsonl when it is one)
  std::string answer;  // kind qa only

  json to_json() const;
  static CorpusDoc from_json(const json& record, const std::string& where);
};
std::string doc_kind_name(DocKind kind);

}  // namespace lethe::data
