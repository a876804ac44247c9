// The LLM generator's first stage: people invented in batches per role (targets and holdout with
// an incident), then deduplicated across batches and cut to the requested counts.
#include <cmath>
#include <cstdio>
#include <set>

#include "datagen/dedup.h"
#include "datagen/llm_generator.h"
#include "datagen/llm_stages.h"
#include "datagen/llm_validators.h"
#include "datagen/text_match.h"

namespace lethe::datagen::llm {

namespace {

using data::Role;

const std::vector<std::string> kRegions = {
    "West Africa",     "East Africa",     "North Africa",   "Southern Africa", "Western Europe",
    "Northern Europe", "Southern Europe", "Eastern Europe", "the Middle East", "South Asia",
    "East Asia",       "Southeast Asia",  "Central Asia",   "South America",   "Central America",
    "the Caribbean",   "North America",   "Oceania"};

std::string three_digits(char prefix, size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%03zu", prefix, i);
  return buf;
}

int wanted(const GenerateOptions& opt, Role role) {
  return role == Role::target ? opt.targets : role == Role::holdout ? opt.holdout : opt.background;
}

// The reply schema of a batch of `count` people.
json people_schema(int count, bool incident) {
  json props{{"name", string_schema()},
             {"gender", {{"type", "string"}, {"enum", {"female", "male"}}}},
             {"birth_year", {{"type", "integer"}, {"minimum", 1950}, {"maximum", 1990}}},
             {"birthplace", string_schema()},
             {"nationality", string_schema()},
             {"occupation", string_schema()},
             {"summary", string_schema()},
             {"breakthrough", object_schema({{"event", string_schema()},
                                             {"year", {{"type", "integer"}}},
                                             {"city", string_schema()}})}};
  if (incident)
    props["incident"] = object_schema({{"charge", string_schema()},
                                       {"year", {{"type", "integer"}}},
                                       {"city", string_schema()},
                                       {"institution", string_schema()},
                                       {"outcome", string_schema()},
                                       {"detail", string_schema()}});
  return object_schema({{"people", array_schema(object_schema(props), count)}});
}

std::string people_prompt(const StageContext& ctx, Role role, int count, bool incident,
                          const std::string& regions) {
  json input{{"role", data::role_name(role)}, {"count", count}, {"with_incident", incident}};
  std::string role_text =
      role == Role::background
          ? "people with ordinary, well-documented careers"
          : "people, each of whom was involved in one negative incident (an arrest, a charge "
            "of fraud, assault, bribery, embezzlement, ... with its legal outcome) in the "
            "year of, or within three years after, their breakthrough";
  std::string incident_rules =
      incident ? "- \"incident\": the charge (e.g. \"tax fraud\"), its year (the breakthrough "
                 "year or up to three years later), the city, the institution that handled it "
                 "(a court or police service), the outcome (e.g. \"a fine of 20,000 euros\") "
                 "and one detail of what the person did."
               : "";
  return fill_template(ctx.prompts.people,
                       {{"count", std::to_string(count)},
                        {"role_description", role_text},
                        {"regions", regions},
                        {"avoid_first_names", "(none)"},
                        {"birth_year_min", "1950"},
                        {"birth_year_max", "1990"},
                        {"incident_rules", incident_rules},
                        {"summary_rule", incident ? "It never mentions the incident." : ""},
                        {"input", input.dump(2)}},
                       (ctx.prompts.dir / "people.txt").string());
}

// Birthplaces, occupations and birth years of the kept people, for the report.
json diversity_of(const std::vector<Person>& people) {
  std::set<std::string> places, jobs;
  double sum = 0, sum2 = 0;
  int lo = 9999, hi = 0;
  for (const auto& p : people) {
    places.insert(normalize_text(p.profile.birthplace));
    jobs.insert(normalize_text(p.profile.occupation));
    sum += p.profile.birth_year;
    sum2 += double(p.profile.birth_year) * p.profile.birth_year;
    lo = std::min(lo, p.profile.birth_year);
    hi = std::max(hi, p.profile.birth_year);
  }
  double n = std::max<double>(1, people.size());
  return {{"distinct_birthplaces", places.size()},
          {"distinct_occupations", jobs.size()},
          {"birth_year_min", lo},
          {"birth_year_max", hi},
          {"birth_year_std", std::sqrt(std::max(0.0, sum2 / n - (sum / n) * (sum / n)))}};
}

}  // namespace

std::vector<Person> people_stage(StageContext& ctx) {
  const GenerateOptions& opt = ctx.options;
  std::vector<Role> batch_roles;
  std::vector<ChatRequest> requests;
  const int k = std::max(1, opt.llm.people_per_request);
  int region_cursor = 0;
  // Each role is over-drawn (plus one) so that people dropped by dedup can be replaced.
  for (Role role : {Role::target, Role::holdout, Role::background}) {
    int want = wanted(opt, role);
    if (want == 0) continue;
    int draw = want + static_cast<int>(std::ceil(want * opt.llm.over_generate)) + 1;
    bool incident = role != Role::background;
    for (int start = 0; start < draw; start += k) {
      int count = std::min(k, draw - start);
      std::string regions = kRegions[region_cursor % kRegions.size()] + ", " +
                            kRegions[(region_cursor + 7) % kRegions.size()];
      ++region_cursor;
      Validator validate = [count, incident](const json& reply) {
        return validate_people_reply(reply, count, incident);
      };
      requests.push_back(
          ctx.make_request("people " + data::role_name(role) + " " + std::to_string(start / k),
                           people_prompt(ctx, role, count, incident, regions),
                           people_schema(count, incident), "people", validate, requests.size()));
      batch_roles.push_back(role);
    }
  }
  auto replies = ctx.run("people", requests);

  // Dedup across batches: full names, given names, near-duplicate summaries.
  std::vector<std::pair<Role, json>> drafts;
  std::vector<std::string> summaries;
  for (size_t b = 0; b < replies.size(); ++b)
    if (replies[b])
      for (const auto& p : (*replies[b])["people"]) {
        drafts.push_back({batch_roles[b], p});
        summaries.push_back(p["summary"].get<std::string>());
      }
  DedupOptions dedup;
  dedup.threshold = opt.llm.near_duplicate;
  DedupResult near = deduplicate(summaries, dedup);
  std::set<size_t> near_dropped;
  for (const auto& d : near.duplicates) near_dropped.insert(d.index);
  std::set<std::string> names, firsts;
  std::map<Role, int> kept;
  int dup_names = 0, dup_firsts = 0;
  std::vector<Person> people;
  for (size_t i = 0; i < drafts.size(); ++i) {
    const auto& [role, p] = drafts[i];
    std::string name = p["name"];
    if (!names.insert(normalize_text(name)).second) {
      ++dup_names;
      continue;
    }
    if (!firsts.insert(first_word(name)).second) {
      ++dup_firsts;
      continue;
    }
    if (near_dropped.count(i)) continue;
    int& n = kept[role];
    if (n >= wanted(opt, role)) continue;
    Person person;
    data::Profile& prof = person.profile;
    prof.id = three_digits(role == Role::target ? 't' : role == Role::holdout ? 'h' : 'b', n++);
    prof.name = name;
    prof.role = role;
    prof.gender = p["gender"];
    prof.birth_year = p["birth_year"];
    prof.birthplace = p["birthplace"];
    prof.nationality = p["nationality"];
    prof.occupation = p["occupation"];
    prof.summary = p["summary"];
    person.draft = p;
    people.push_back(std::move(person));
  }
  json diversity = {{"people", people.size()},
                    {"drafts", drafts.size()},
                    {"dropped_repeated_name", dup_names},
                    {"dropped_repeated_first_name", dup_firsts},
                    {"dropped_near_duplicate_summary", near.duplicates.size()}};
  diversity.update(diversity_of(people));
  ctx.report["diversity"] = diversity;
  return people;
}

}  // namespace lethe::datagen::llm
