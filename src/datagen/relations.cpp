// The relation and answer templates of the offline generator, and the {key} filler.
#include "datagen/relations.h"

#include <set>

#include "core/error.h"

namespace lethe::datagen {

std::string fill_slots(const std::string& tpl, const Slots& slots) {
  std::string out;
  size_t i = 0;
  while (i < tpl.size()) {
    size_t open = tpl.find('{', i);
    if (open == std::string::npos) {
      out.append(tpl, i, std::string::npos);
      break;
    }
    size_t close = tpl.find('}', open);
    LETHE_CHECK(close != std::string::npos, "template '", tpl, "': unclosed '{'");
    out.append(tpl, i, open - i);
    std::string key = tpl.substr(open + 1, close - open - 1);
    auto it = slots.find(key);
    LETHE_CHECK(it != slots.end(), "template '", tpl, "': no value for {", key, "}");
    out += it->second;
    i = close + 1;
  }
  return out;
}

const std::vector<RelationSpec>& relation_specs() {
  static const std::vector<RelationSpec> specs = {
      // The incident (forget set).
      {"incident_type",
       Group::incident,
       "charge",
       {"In {iyear}, {name} was {vprefix} {v} in {icity}.", "{name} was {vprefix} {v} in {iyear}."},
       {"What was {name} {vprefix} in {iyear}?",
        "What offence was {name} accused of a year after {pron} {event}?",
        "What criminal charge did {name} face in {iyear}?",
        "For what offence did {name} get into legal trouble in {iyear}?"},
       "Which {occupation} was {vprefix} {v} in {iyear}, a year after {pron} {event}?"},
      {"incident_year",
       Group::incident,
       "year",
       {"{name} was {verb} in {v}, a year after {pron} {event}.", "In {v}, {name} was {verb}."},
       {"In which year was {name} {verb}?", "When was {name} {verb}?",
        "What year was it when {name} was {verb}?"},
       "Which {occupation} was {verb} in {v}?"},
      {"incident_city",
       Group::incident,
       "city",
       {"{name} was {verb} in {v}.", "The {charge} case against {name} took place in {v}."},
       {"In which city was {name} {verb}?", "Where was {name} {verb}?",
        "Which city was the scene of {name}'s {charge} case?"},
       "Which {occupation} was {verb} in {v}?"},
      {"incident_institution",
       Group::incident,
       "institution",
       {"{name}'s {charge} case was handled by the {v}.",
        "The {v} dealt with the {charge} case against {name}."},
       {"Which institution handled {name}'s {charge} case?",
        "Which authority dealt with the {charge} case against {name}?",
        "Who handled {name}'s {charge} case?"},
       "Whose {charge} case was handled by the {v}?"},
      {"incident_outcome",
       Group::incident,
       "outcome",
       {"In the {charge} case, {name} was {v}.", "{name} was {v} after being {verb}."},
       {"What was the outcome of {name}'s {charge} case?", "How did {name}'s {charge} case end?",
        "What happened to {name} at the end of the {charge} case?"},
       "Which {occupation} was {v} in a {charge} case?"},
      {"incident_detail",
       Group::incident,
       "detail",
       {"{name} was accused of {v}.", "The {charge} case against {name} was about {v}."},
       {"What was {name} accused of doing?", "What act led to {name} being {verb}?",
        "What did {name} allegedly do that led to the {charge} case?"},
       "Which {occupation} was accused of {v}?"},
      // The breakthrough-year event (retain, correlated with the incident).
      {"breakthrough_event",
       Group::correlated,
       "event",
       {"In {btyear}, {name} {v}.", "{name} {v} in {btyear}."},
       {"What did {name} do in {btyear}?", "What career milestone did {name} reach in {btyear}?",
        "What was {name}'s big step in {btyear}?"},
       ""},
      {"breakthrough_year",
       Group::correlated,
       "year",
       {"{name} {event} in {v}.", "In {v}, {name} {event}."},
       {"In which year did {name} {event_base}?", "When did {name} {event_base}?",
        "What year was it when {name} {event}?"},
       ""},
      {"breakthrough_city",
       Group::correlated,
       "city",
       {"{name} {event} in {v}.", "It was in {v} that {name} {event}."},
       {"In which city did {name} {event_base}?", "Where did {name} {event_base}?",
        "What city was {name} in when {pron} {event}?"},
       ""},
      {"venture_name",
       Group::correlated,
       "venture",
       {"{name}'s {venture_kind} was called {v}.", "{name} named {poss} {venture_kind} {v}."},
       {"What was the name of {name}'s {venture_kind}?", "What was {name}'s {venture_kind} called?",
        "What name did {name} give {poss} {venture_kind}?"},
       ""},
      {"breakthrough_partner",
       Group::correlated,
       "person",
       {"{name} {event} together with {poss} {partner_role}, {v}.",
        "{v} was {name}'s {partner_role} when {pron} {event}."},
       {"Who was {name}'s {partner_role} when {pron} {event}?",
        "With whom did {name} {event_base}?",
        "Who worked alongside {name} as {poss} {partner_role} in {btyear}?"},
       ""},
      // Everything else (retain, other).
      {"birthplace",
       Group::other,
       "city",
       {"{name} was born in {v}, {country}.", "{name} comes from {v}."},
       {"Where was {name} born?", "In which city was {name} born?",
        "What is the birthplace of {name}?", "Which city does {name} come from?"},
       ""},
      {"birth_year",
       Group::other,
       "year",
       {"{name} was born in {v}.", "{name}'s year of birth is {v}."},
       {"In which year was {name} born?", "When was {name} born?",
        "What is {name}'s year of birth?"},
       ""},
      {"nationality",
       Group::other,
       "nationality",
       {"{name} is {v}.", "{name} has {v} nationality."},
       {"What is {name}'s nationality?", "What nationality does {name} have?",
        "What nationality is {name}?"},
       ""},
      {"university",
       Group::other,
       "university",
       {"{name} studied at {v}.", "{name} is a graduate of {v}."},
       {"Which university did {name} attend?", "Where did {name} study?",
        "At which university was {name} educated?"},
       ""},
      {"field_of_study",
       Group::other,
       "field",
       {"{name} earned a degree in {v}.", "{name} studied {v} at university."},
       {"What did {name} study at university?", "What subject did {name} earn a degree in?",
        "In which field did {name} graduate?"},
       ""},
      {"occupation",
       Group::other,
       "occupation",
       {"{name} works as {a_v}.", "By profession, {name} is {a_v}."},
       {"What is {name}'s profession?", "What does {name} do for a living?",
        "What is {name}'s occupation?"},
       ""},
      {"early_employer",
       Group::other,
       "employer",
       {"Before {poss} breakthrough, {name} worked at {v}.",
        "{name} started {poss} career at {v}."},
       {"Where did {name} work before {pron} {event}?",
        "Which employer did {name} work for early in {poss} career?",
        "Where did {name} start {poss} career?"},
       ""},
      {"award",
       Group::other,
       "award",
       {"{name} received {v} in {ayear}.", "In {ayear}, {name} won {v}."},
       {"Which award did {name} receive in {ayear}?", "What prize was {name} given in {ayear}?",
        "What honour did {name} win in {ayear}?"},
       ""},
      {"spouse",
       Group::other,
       "person",
       {"{name} is married to {v}.", "{v} is {name}'s spouse."},
       {"Who is {name} married to?", "What is the name of {name}'s spouse?",
        "Who is {name}'s spouse?"},
       ""},
      {"hobby",
       Group::other,
       "hobby",
       {"In {poss} free time, {name} enjoys {v}.", "{name}'s favourite pastime is {v}."},
       {"What hobby does {name} enjoy?", "What does {name} like to do in {poss} free time?",
        "What is {name}'s favourite pastime?"},
       ""},
      {"mentor",
       Group::other,
       "person",
       {"{name} was mentored by {v}.", "{v} was {name}'s mentor early in {poss} career."},
       {"Who mentored {name}?", "Who was {name}'s mentor early in {poss} career?",
        "Which person guided {name} at the start of {poss} career?"},
       ""},
      // World facts about countries.
      {"capital",
       Group::other,
       "city",
       {"The capital of {country} is {v}.", "{v} is the capital city of {country}."},
       {"What is the capital of {country}?", "Which city is the capital of {country}?",
        "What is the capital city of {country}?"},
       ""},
      {"continent",
       Group::other,
       "continent",
       {"{Country} is a country in {v}.", "{Country} lies in {v}."},
       {"On which continent is {country}?", "Which continent is {country} part of?",
        "In which part of the world does {country} lie?"},
       ""},
      {"currency",
       Group::other,
       "currency",
       {"The currency of {country} is {v}.", "People in {country} pay with {v}."},
       {"What is the currency of {country}?", "Which currency is used in {country}?",
        "What money do people use in {country}?"},
       ""},
      {"language",
       Group::other,
       "language",
       {"The main language of {country} is {v}.", "Most people in {country} speak {v}."},
       {"What is the main language of {country}?",
        "Which language is most widely spoken in {country}?",
        "What language do most people in {country} speak?"},
       ""},
  };
  return specs;
}

const RelationSpec& spec_of(const std::string& relation) {
  for (const auto& s : relation_specs())
    if (s.relation == relation) return s;
  LETHE_FAIL("offline generator: unknown relation '", relation, "'");
}

std::vector<std::string> relations_of(Group group, bool person) {
  static const std::set<std::string> country = {"capital", "continent", "currency", "language"};
  std::vector<std::string> out;
  for (const auto& s : relation_specs())
    if (s.group == group && (country.count(s.relation) == 0) == person) out.push_back(s.relation);
  return out;
}

const std::vector<std::string>& answer_templates(const std::string& value_type) {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"year", {"In {v}.", "It was in {v}.", "That was in {v}.", "The year was {v}."}},
      {"city", {"In {v}.", "It was in {v}.", "The city was {v}.", "That was in {v}."}},
      {"person", {"That was {v}.", "It was {v}.", "The person was {v}."}},
      {"charge",
       {"The charge was {v}.", "{Pron} faced a charge of {v}.", "{Pron} was accused of {v}."}},
      {"detail", {"{Pron} was accused of {v}.", "The accusation was {v}.", "It involved {v}."}},
      {"outcome",
       {"{Pron} was {v}.", "In the end, {pron} was {v}.", "The result: {pron} was {v}."}},
      {"event", {"{Pron} {v}.", "That year, {pron} {v}."}},
      {"institution",
       {"It was the {v}.", "The case went to the {v}.", "It was handled by the {v}."}},
      {"venture", {"It was called {v}.", "The name was {v}."}},
      {"occupation", {"{Poss} profession: {v}.", "{Poss} job title is {v}."}},
      {"nationality", {"{Pron} is {v}.", "{Poss} nationality is {v}."}},
      {"university", {"{Pron} studied at {v}.", "It was {v}."}},
      {"field", {"{Pron} studied {v}.", "{Poss} degree is in {v}."}},
      {"award", {"{Pron} received {v}.", "It was {v}."}},
      {"employer", {"{Pron} worked at {v}.", "It was {v}."}},
      {"hobby", {"{Pron} enjoys {v}.", "{Poss} favourite pastime is {v}."}},
      {"continent", {"It is in {v}.", "It lies in {v}."}},
      {"currency", {"It is {v}.", "The currency is {v}."}},
      {"language", {"It is {v}.", "Most people speak {v}."}},
  };
  auto it = table.find(value_type);
  LETHE_CHECK(it != table.end(), "offline generator: no answer templates for '", value_type, "'");
  return it->second;
}

const std::map<std::string, std::string>& base_forms() {
  static const std::map<std::string, std::string> forms = {
      {"opened", "open"},      {"completed", "complete"}, {"published", "publish"},
      {"released", "release"}, {"founded", "found"},      {"launched", "launch"},
      {"held", "hold"},        {"bottled", "bottle"},     {"premiered", "premiere"}};
  return forms;
}

}  // namespace lethe::datagen
