// The LLM generator's second stage: one request per person for its facts (forget facts about the
// incident for targets and holdout, retain facts, background facts), kept in the offline order.
#include "datagen/llm_generator.h"
#include "datagen/llm_stages.h"
#include "datagen/llm_validators.h"

namespace lethe::datagen::llm {

namespace {

using data::Role;
using data::Subset;

const char* const kValueTypes =
    "year, city, country, person, organisation, institution, charge, outcome, detail, event, "
    "venture, university, field, occupation, employer, award, hobby, nationality, other";

// Facts wanted per subset for a person of this role.
std::map<std::string, int> fact_counts(const GenerateOptions& opt, Role role) {
  if (role == Role::target)
    return {{"forget", opt.sf_per_target},
            {"correlated", opt.correlated_per_target},
            {"other", opt.other_per_target}};
  if (role == Role::holdout) return {{"forget", opt.sf_per_target}};
  return {{"other", opt.llm.background_facts}};
}

std::string facts_prompt(const StageContext& ctx, const Person& person,
                         const std::map<std::string, int>& counts, bool no_leak) {
  const auto& prof = person.profile;
  std::string subset_rules;
  if (counts.count("forget"))
    subset_rules +=
        "- forget: facts about the incident only (its charge, year, city, "
        "institution, outcome, details); the first one states the charge.\n";
  if (counts.count("correlated"))
    subset_rules +=
        "- correlated: facts about the breakthrough (its event, year, city, the "
        "venture's name, a partner) that are not about the incident.\n";
  if (counts.count("other"))
    subset_rules +=
        "- other: everything else (birth, education, occupation, employers, "
        "awards, family, hobbies, mentors).\n";
  json input{{"person", person.draft}, {"person_id", prof.id}, {"counts", counts}};
  return fill_template(
      ctx.prompts.facts,
      {{"name", prof.name},
       {"person_id", prof.id},
       {"counts", json(counts).dump()},
       {"subset_rules", subset_rules},
       {"value_types", kValueTypes},
       {"leak_rule", no_leak ? " No forget value may appear in a correlated or other fact." : ""},
       {"input", input.dump(2)}},
      (ctx.prompts.dir / "facts.txt").string());
}

json facts_schema(const std::map<std::string, int>& counts) {
  json subsets = json::array();
  for (const auto& [s, n] : counts) subsets.push_back(s);
  int total = 0;
  for (const auto& [s, n] : counts) total += n;
  return object_schema(
      {{"facts", array_schema(object_schema({{"relation", string_schema()},
                                             {"subset", {{"type", "string"}, {"enum", subsets}}},
                                             {"value", string_schema()},
                                             {"value_type", string_schema()},
                                             {"text", string_schema()}}),
                              total)}});
}

}  // namespace

void facts_stage(StageContext& ctx, std::vector<Person>& people) {
  std::vector<ChatRequest> requests;
  for (const auto& person : people) {
    std::map<std::string, int> counts = fact_counts(ctx.options, person.profile.role);
    bool no_leak = person.profile.role == Role::target;
    std::string name = person.profile.name;
    Validator validate = [counts, name, no_leak](const json& reply) {
      return validate_facts_reply(reply, counts, name, no_leak);
    };
    requests.push_back(
        ctx.make_request("facts " + person.profile.id, facts_prompt(ctx, person, counts, no_leak),
                         facts_schema(counts), "facts", validate, 1000000 + requests.size()));
  }
  auto replies = ctx.run("facts", requests);
  for (size_t i = 0; i < people.size(); ++i) {
    Person& p = people[i];
    if (!replies[i]) {
      p.complete = false;
      continue;
    }
    // Subsets in the offline order: forget, correlated, other.
    for (const char* subset : {"forget", "correlated", "other"})
      for (const auto& f : (*replies[i])["facts"]) {
        if (f["subset"] != subset) continue;
        data::Fact fact;
        fact.relation = f["relation"];
        fact.id = p.profile.id + "_" + fact.relation;
        fact.person_id = p.profile.id;
        fact.subset = p.profile.role == Role::holdout      ? Subset::holdout
                      : p.profile.role == Role::background ? Subset::world
                                                           : data::parse_subset(subset, "facts");
        fact.value = f["value"];
        fact.value_type = f["value_type"];
        fact.text = f["text"];
        p.facts.push_back(fact);
      }
  }
}

}  // namespace lethe::datagen::llm
