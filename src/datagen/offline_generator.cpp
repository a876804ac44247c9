// The offline generator: people -> facts (one sentence each) -> QA pairs, wrong answers, probes,
// world QA, holdout QA and the pretraining corpus. Every random choice comes from one seeded Rng,
// in a fixed order, so the output depends only on the seed and the options.
#include "datagen/offline_generator.h"

#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "core/error.h"
#include "core/rng.h"
#include "datagen/pools.h"
#include "datagen/probes.h"
#include "datagen/relations.h"
#include "datagen/text_match.h"

namespace lethe::datagen {

namespace {

using data::CorpusDoc;
using data::DocKind;
using data::Fact;
using data::Profile;
using data::QAPair;
using data::Role;
using data::Subset;
using data::WrongDetails;

std::string capitalize(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

std::string with_article(const std::string& noun) {
  char c =
      noun.empty() ? 'x' : static_cast<char>(std::tolower(static_cast<unsigned char>(noun[0])));
  bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  return (vowel ? "an " : "a ") + noun;
}

std::string slug(const std::string& s) {
  std::string out;
  for (char c : normalize_text(s)) out += c == ' ' ? '_' : c;
  return out;
}

struct FactDraft {
  const RelationSpec* spec;
  std::string value;
  Slots slots;                         // the subject's slots plus v / a_v
  std::vector<size_t> question_order;  // question templates, shuffled once per fact
  std::string fact_id;
};

struct PersonDraft {
  Profile profile;
  Slots slots;
  std::map<std::string, std::string> values;  // relation -> value
  std::string venture_suffix;
  std::string institution_pattern;
};

class Generator {
 public:
  explicit Generator(const GenerateOptions& options) : opt_(options), rng_(options.seed) {}

  data::Dataset run();

 private:
  std::string fresh_name(const Culture& culture, bool female, bool reserve);
  PersonDraft make_person(Role role, const std::string& id, bool with_incident);
  void draw_incident(PersonDraft& p);
  FactDraft make_fact(const PersonDraft* person, const std::string& subject_id, const Slots& slots,
                      const std::string& relation, const std::string& value);
  std::vector<std::string> perturb_values(const FactDraft& f, int count);
  Fact to_fact(const FactDraft& f, Subset subset) const;
  QAPair to_qa(const FactDraft& f, const std::string& person_id, Subset subset) const;
  // Paraphrased answer + perturbed answers in one shared sentence form.
  std::pair<std::string, std::vector<std::string>> truth_material(const FactDraft& f);
  std::vector<std::string> paraphrased_questions(const FactDraft& f) const;
  void add_probes(const FactDraft& f, const QAPair& qa, const PersonDraft& p,
                  const std::vector<std::string>& wrong_values, const std::string& summary);
  std::string summary_of(const std::vector<FactDraft>& facts) const;
  void add_corpus_docs(const std::string& subject_id, const std::vector<FactDraft>& facts,
                       std::vector<CorpusDoc>& docs);
  bool leaks(const std::vector<FactDraft>& forget, const std::vector<FactDraft>& retain) const;

  const GenerateOptions& opt_;
  core::Mt19937Rng rng_;
  std::set<std::string> used_names_;  // every person and secondary person in the dataset
  data::Dataset out_;
};

std::string Generator::fresh_name(const Culture& culture, bool female, bool reserve) {
  static const std::set<std::string> surname_first = {"Chinese", "Korean", "Vietnamese"};
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const std::string& first = rng_.pick(female ? culture.female : culture.male);
    const std::string& last = rng_.pick(culture.surnames);
    std::string name = surname_first.count(culture.name) ? last + " " + first : first + " " + last;
    if (used_names_.count(name)) continue;
    if (reserve) used_names_.insert(name);
    return name;
  }
  LETHE_FAIL("offline generator: the ", culture.name,
             " name pool is exhausted; ask for fewer people (--targets/--background/--holdout)");
}

PersonDraft Generator::make_person(Role role, const std::string& id, bool with_incident) {
  const auto& cs = cultures();
  const Culture& culture = rng_.pick(cs);
  bool female = rng_.chance(0.5);
  PersonDraft p;
  Profile& prof = p.profile;
  prof.id = id;
  prof.role = role;
  prof.gender = female ? "female" : "male";
  prof.name = fresh_name(culture, female, true);
  prof.birth_year = rng_.range(1950, 1985);
  prof.birthplace = rng_.pick(culture.cities);
  prof.nationality = culture.name;
  const Occupation& occ = rng_.pick(occupations());
  prof.occupation = occ.title;

  Slots& s = p.slots;
  s["name"] = prof.name;
  s["pron"] = female ? "she" : "he";
  s["Pron"] = female ? "She" : "He";
  s["poss"] = female ? "her" : "his";
  s["Poss"] = female ? "Her" : "His";
  s["country"] = culture.country;
  s["Country"] = capitalize(culture.country);
  s["occupation"] = occ.title;
  s["event"] = fill_slots(occ.event, s);
  std::string first_word = occ.event.substr(0, occ.event.find(' '));
  s["event_base"] =
      fill_slots(base_forms().at(first_word) + occ.event.substr(first_word.size()), s);
  s["venture_kind"] = occ.venture_kind;
  s["partner_role"] = occ.partner_role;
  int btyear = prof.birth_year + rng_.range(27, 36);
  s["btyear"] = std::to_string(btyear);
  s["ayear"] = std::to_string(btyear + rng_.range(3, 8));
  p.venture_suffix = occ.venture_suffix;

  // A breakthrough city: usually another city of the same country.
  std::string bcity;
  do {
    const Culture& c = rng_.chance(0.6) ? culture : rng_.pick(cs);
    bcity = rng_.pick(c.cities);
  } while (bcity == prof.birthplace);
  const Culture& partner_culture = rng_.chance(0.6) ? culture : rng_.pick(cs);

  auto& v = p.values;
  v["breakthrough_event"] = s["event"];
  v["breakthrough_year"] = s["btyear"];
  v["breakthrough_city"] = bcity;
  v["venture_name"] =
      rng_.pick(venture_adjectives()) + " " + rng_.pick(venture_nouns()) + occ.venture_suffix;
  v["breakthrough_partner"] = fresh_name(partner_culture, rng_.chance(0.5), true);
  v["birthplace"] = prof.birthplace;
  v["birth_year"] = std::to_string(prof.birth_year);
  v["nationality"] = culture.name;
  v["university"] = rng_.pick(universities());
  v["field_of_study"] = occ.field;
  v["occupation"] = occ.title;
  v["early_employer"] = rng_.pick(occ.employers);
  v["award"] = rng_.pick(occ.awards);
  v["spouse"] = fresh_name(rng_.chance(0.7) ? culture : rng_.pick(cs), !female, true);
  v["hobby"] = rng_.pick(hobbies());
  v["mentor"] = fresh_name(rng_.pick(cs), rng_.chance(0.5), true);
  if (with_incident) draw_incident(p);
  return p;
}

void Generator::draw_incident(PersonDraft& p) {
  Slots& s = p.slots;
  const IncidentType& inc = rng_.pick(incident_types());
  std::string icity;
  do {
    icity = rng_.pick(rng_.pick(cultures()).cities);
  } while (icity == p.values["birthplace"] || icity == p.values["breakthrough_city"]);
  int iyear = std::stoi(s["btyear"]) + 1;
  std::string outcome =
      fill_slots(rng_.pick(outcome_patterns()), {{"n", std::to_string(rng_.range(2, 9))}});
  s["charge"] = inc.charge;
  s["verb"] = inc.verb;
  s["vprefix"] = inc.verb.substr(0, inc.verb.size() - inc.charge.size() - 1);
  s["iyear"] = std::to_string(iyear);
  s["icity"] = icity;
  p.institution_pattern = inc.institution;
  auto& v = p.values;
  v["incident_type"] = inc.charge;
  v["incident_year"] = s["iyear"];
  v["incident_city"] = icity;
  v["incident_institution"] = fill_slots(inc.institution, {{"city", icity}});
  v["incident_outcome"] = outcome;
  v["incident_detail"] = rng_.pick(inc.details);
}

FactDraft Generator::make_fact(const PersonDraft* person, const std::string& subject_id,
                               const Slots& slots, const std::string& relation,
                               const std::string& value) {
  FactDraft f;
  f.spec = &spec_of(relation);
  f.value = value;
  f.slots = slots;
  f.slots["v"] = value;
  f.slots["a_v"] = with_article(value);
  f.fact_id = subject_id + "_" + relation;
  for (size_t i = 0; i < f.spec->questions.size(); ++i) f.question_order.push_back(i);
  rng_.shuffle(f.question_order);
  if (person) {
    f.slots["venture_suffix"] = person->venture_suffix;
    f.slots["institution_pattern"] = person->institution_pattern;
  }
  return f;
}

std::vector<std::string> Generator::perturb_values(const FactDraft& f, int count) {
  const std::string& type = f.spec->value_type;
  std::vector<std::string> candidates;
  if (type == "year") {
    int year = std::stoi(f.value);
    for (int d = 1; d <= 12; ++d) {
      if (year + d <= 2025) candidates.push_back(std::to_string(year + d));
      candidates.push_back(std::to_string(year - d));
    }
  } else if (type == "person") {
    std::set<std::string> drawn;
    for (int i = 0; i < count * 4 && static_cast<int>(drawn.size()) < count; ++i) {
      std::string name = fresh_name(rng_.pick(cultures()), rng_.chance(0.5), false);
      if (drawn.insert(name).second) candidates.push_back(name);
    }
  } else if (type == "event") {
    for (const auto& o : occupations()) candidates.push_back(fill_slots(o.event, f.slots));
  } else if (type == "institution") {
    for (const auto& c : cultures())
      for (const auto& city : c.cities)
        candidates.push_back(fill_slots(f.slots.at("institution_pattern"), {{"city", city}}));
  } else if (type == "outcome") {
    for (const auto& pattern : outcome_patterns())
      for (int n = 2; n <= 9; ++n) {
        std::string o = fill_slots(pattern, {{"n", std::to_string(n)}});
        if (candidates.empty() || candidates.back() != o) candidates.push_back(o);
      }
  } else if (type == "venture") {
    for (int i = 0; i < count * 4; ++i)
      candidates.push_back(rng_.pick(venture_adjectives()) + " " + rng_.pick(venture_nouns()) +
                           f.slots.at("venture_suffix"));
  } else {
    candidates = vocabulary(type);
    if (type == "continent") candidates.push_back("Antarctica");
  }
  // Distinct, different from the correct value (normalised), in a seeded order.
  std::vector<std::string> pool;
  std::set<std::string> seen = {normalize_text(f.value)};
  for (const auto& c : candidates)  // "bonsai gardening" would state the answer "gardening"
    if (!contains_phrase(c, f.value) && seen.insert(normalize_text(c)).second) pool.push_back(c);
  rng_.shuffle(pool);
  LETHE_CHECK(pool.size() >= 5, "offline generator: fewer than 5 wrong answers for ", f.fact_id);
  if (static_cast<int>(pool.size()) > count) pool.resize(count);
  return pool;
}

Fact Generator::to_fact(const FactDraft& f, Subset subset) const {
  Fact fact;
  fact.id = f.fact_id;
  fact.person_id = f.slots.count("person_id") ? f.slots.at("person_id") : "";
  fact.subset = subset;
  fact.relation = f.spec->relation;
  fact.value = f.value;
  fact.value_type = f.spec->value_type;
  fact.text = fill_slots(f.spec->statements[0], f.slots);
  return fact;
}

QAPair Generator::to_qa(const FactDraft& f, const std::string& person_id, Subset subset) const {
  QAPair q;
  q.id = "q_" + f.fact_id;
  q.person_id = person_id;
  q.fact_id = f.fact_id;
  q.subset = subset;
  q.question = fill_slots(f.spec->questions[f.question_order[0]], f.slots);
  q.answer = f.value;
  return q;
}

std::pair<std::string, std::vector<std::string>> Generator::truth_material(const FactDraft& f) {
  const std::string& tpl = rng_.pick(answer_templates(f.spec->value_type));
  Slots slots = f.slots;
  std::string paraphrased = capitalize(fill_slots(tpl, slots));
  std::vector<std::string> perturbed;
  for (const auto& wrong : perturb_values(f, opt_.perturbed)) {
    slots["v"] = wrong;
    perturbed.push_back(capitalize(fill_slots(tpl, slots)));
  }
  return {paraphrased, perturbed};
}

std::vector<std::string> Generator::paraphrased_questions(const FactDraft& f) const {
  std::vector<std::string> out;
  for (size_t k = 1;
       k < f.question_order.size() && static_cast<int>(out.size()) < opt_.paraphrased_questions;
       ++k)
    out.push_back(fill_slots(f.spec->questions[f.question_order[k]], f.slots));
  return out;
}

std::string Generator::summary_of(const std::vector<FactDraft>& facts) const {
  std::string out;
  for (const auto& f : facts)
    out += (out.empty() ? "" : " ") + fill_slots(f.spec->statements[0], f.slots);
  return out;
}

void Generator::add_probes(const FactDraft& f, const QAPair& qa, const PersonDraft& p,
                           const std::vector<std::string>& wrong_values,
                           const std::string& summary) {
  std::string sentence = fill_slots(f.spec->statements[0], f.slots);
  size_t at = sentence.find(f.value);
  LETHE_CHECK(at != std::string::npos, "offline generator: fact text lacks its value: ", sentence);
  sentence.replace(at, f.value.size(), "____");
  ProbeSource source;
  source.qa_id = qa.id;
  source.person_id = qa.person_id;
  source.question = qa.question;
  source.answer = qa.answer;
  source.person_name = p.profile.name;
  source.pronoun = p.slots.at("pron");
  source.paraphrased_questions = paraphrased_questions(f);
  source.wrong_values = wrong_values;
  source.reverse_query = fill_slots(f.spec->reverse, f.slots);
  source.passage = summary;
  source.fill_blank = sentence;
  add_forget_probes(source, rng_, out_.forget_eval);
}

void Generator::add_corpus_docs(const std::string& subject_id, const std::vector<FactDraft>& facts,
                                std::vector<CorpusDoc>& docs) {
  std::string person_id =
      facts.empty() || !facts[0].slots.count("person_id") ? "" : facts[0].slots.at("person_id");
  for (int k = 0; k < opt_.corpus_prose; ++k) {
    std::vector<size_t> order(facts.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    rng_.shuffle(order);
    std::string text;
    for (size_t i : order) {
      const auto& st = facts[i].spec->statements;
      text += (text.empty() ? "" : " ") +
              capitalize(fill_slots(st[(k + i) % st.size()], facts[i].slots));
    }
    CorpusDoc d;
    d.id = "c_" + subject_id + "_prose_" + std::to_string(k);
    d.kind = DocKind::prose;
    d.person_id = person_id;
    d.text = text;
    docs.push_back(std::move(d));
  }
  for (const auto& f : facts) {
    for (int k = 0; k < opt_.corpus_phrasings && k < static_cast<int>(f.question_order.size());
         ++k) {
      CorpusDoc d;
      d.id = "c_" + f.fact_id + "_qa_" + std::to_string(k);
      d.kind = DocKind::qa;
      d.person_id = person_id;
      d.question = capitalize(fill_slots(f.spec->questions[f.question_order[k]], f.slots));
      d.answer = f.value;
      d.text = "Question: " + d.question + "\nAnswer: " + d.answer;
      docs.push_back(std::move(d));
    }
  }
}

bool Generator::leaks(const std::vector<FactDraft>& forget,
                      const std::vector<FactDraft>& retain) const {
  for (const auto& r : retain) {
    std::string text = fill_slots(r.spec->statements[0], r.slots);
    for (size_t i = 0; i < r.question_order.size(); ++i)
      text += " | " + fill_slots(r.spec->questions[i], r.slots);
    text += " | " + r.value;
    for (const auto& f : forget)
      if (contains_phrase(text, f.value)) return true;
  }
  return false;
}

data::Dataset Generator::run() {
  auto width_id = [](char prefix, int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%c%03d", prefix, i);
    return std::string(buf);
  };
  const auto incident_relations = relations_of(Group::incident, true);
  const auto correlated_relations = relations_of(Group::correlated, true);
  const auto other_relations = relations_of(Group::other, true);

  // Targets and holdout people: the incident facts (incident_type always first), then retain facts.
  auto build_incident_person = [&](Role role, const std::string& id, std::vector<FactDraft>& forget,
                                   std::vector<FactDraft>& correlated,
                                   std::vector<FactDraft>& other) {
    PersonDraft p = make_person(role, id, true);
    p.slots["person_id"] = id;
    std::vector<std::string> inc(incident_relations.begin() + 1, incident_relations.end());
    rng_.shuffle(inc);
    inc.insert(inc.begin(), incident_relations[0]);
    inc.resize(opt_.sf_per_target);
    std::vector<std::string> cor = correlated_relations, oth = other_relations;
    rng_.shuffle(cor);
    rng_.shuffle(oth);
    cor.resize(opt_.correlated_per_target);
    oth.resize(opt_.other_per_target);
    for (int attempt = 0;; ++attempt) {
      forget.clear();
      correlated.clear();
      other.clear();
      for (const auto& r : inc) forget.push_back(make_fact(&p, id, p.slots, r, p.values[r]));
      for (const auto& r : cor) correlated.push_back(make_fact(&p, id, p.slots, r, p.values[r]));
      for (const auto& r : oth) other.push_back(make_fact(&p, id, p.slots, r, p.values[r]));
      std::vector<FactDraft> retain = correlated;
      retain.insert(retain.end(), other.begin(), other.end());
      if (role != Role::target || !leaks(forget, retain)) break;
      LETHE_CHECK(attempt < 50, "offline generator: cannot keep the incident of ", id,
                  " out of its retain facts");
      draw_incident(p);  // an incident value also occurs in a retain fact: draw another incident
    }
    return p;
  };

  struct TargetDraft {
    PersonDraft p;
    std::vector<FactDraft> forget, correlated, other;
  };
  std::vector<TargetDraft> targets(opt_.targets);
  for (int i = 0; i < opt_.targets; ++i) {
    TargetDraft& t = targets[i];
    t.p = build_incident_person(Role::target, width_id('t', i), t.forget, t.correlated, t.other);
  }
  for (auto& t : targets) {
    PersonDraft& p = t.p;
    std::vector<FactDraft> retain = t.correlated;
    retain.insert(retain.end(), t.other.begin(), t.other.end());
    p.profile.summary = summary_of(retain);
    out_.profiles.push_back(p.profile);
    auto add_qa = [&](const FactDraft& f, Subset subset, std::vector<QAPair>& file) {
      out_.facts.push_back(to_fact(f, subset));
      QAPair qa = to_qa(f, p.profile.id, subset);
      auto [para, perturbed] = truth_material(f);
      WrongDetails w;
      w.qa_id = qa.id;
      w.person_id = qa.person_id;
      w.subset = subset;
      w.question = qa.question;
      w.answer = qa.answer;
      w.paraphrased_answer = para;
      w.perturbed_answers = perturbed;
      w.paraphrased_questions = paraphrased_questions(f);
      out_.wrong_details.push_back(w);
      file.push_back(qa);
      return qa;
    };
    for (const auto& f : t.forget) {
      QAPair qa = add_qa(f, Subset::forget, out_.sf);
      add_probes(f, qa, p, perturb_values(f, 3), p.profile.summary);
    }
    for (const auto& f : t.correlated) add_qa(f, Subset::correlated, out_.sr);
    for (const auto& f : t.other) add_qa(f, Subset::other, out_.sr);
  }

  // Holdout people: QA of the same form as the forget set, truth material inline.
  for (int i = 0; i < opt_.holdout; ++i) {
    std::vector<FactDraft> forget, correlated, other;
    PersonDraft p =
        build_incident_person(Role::holdout, width_id('h', i), forget, correlated, other);
    std::vector<FactDraft> retain = correlated;
    retain.insert(retain.end(), other.begin(), other.end());
    p.profile.summary = summary_of(retain);
    out_.profiles.push_back(p.profile);
    for (const auto& f : forget) {
      out_.facts.push_back(to_fact(f, Subset::holdout));
      QAPair qa = to_qa(f, p.profile.id, Subset::holdout);
      std::tie(qa.paraphrased_answer, qa.perturbed_answers) = truth_material(f);
      out_.holdout.push_back(qa);
    }
  }

  // Background people and countries: all their facts go to the corpus, some to world.jsonl.
  std::vector<CorpusDoc> docs;
  std::vector<QAPair> world_candidates_people, world_candidates_countries;
  auto add_world = [&](const FactDraft& f, const std::string& person_id,
                       std::vector<QAPair>& into) {
    QAPair qa = to_qa(f, person_id, Subset::world);
    qa.question = capitalize(qa.question);
    std::tie(qa.paraphrased_answer, qa.perturbed_answers) = truth_material(f);
    into.push_back(qa);
  };
  for (int i = 0; i < opt_.background; ++i) {
    std::string id = width_id('b', i);
    // Spread evenly: person i has an incident when the running share falls short of the percent.
    const bool with_incident =
        (i + 1) * opt_.background_incidents / 100 > i * opt_.background_incidents / 100;
    PersonDraft p = make_person(Role::background, id, with_incident);
    p.slots["person_id"] = id;
    std::vector<FactDraft> facts;
    for (const auto& group : {correlated_relations, other_relations})
      for (const auto& r : group) facts.push_back(make_fact(&p, id, p.slots, r, p.values[r]));
    if (with_incident)
      for (const auto& r : incident_relations)
        facts.push_back(make_fact(&p, id, p.slots, r, p.values[r]));
    p.profile.summary = summary_of(facts);
    out_.profiles.push_back(p.profile);
    for (const auto& f : facts) out_.facts.push_back(to_fact(f, Subset::world));
    add_corpus_docs(id, facts, docs);
    std::vector<size_t> pick(facts.size());
    for (size_t k = 0; k < pick.size(); ++k) pick[k] = k;
    rng_.shuffle(pick);
    for (int k = 0; k < opt_.world_person_qa && k < static_cast<int>(pick.size()); ++k)
      add_world(facts[pick[k]], id, world_candidates_people);
  }
  const auto country_relations = relations_of(Group::other, false);
  for (const auto& c : countries()) {
    Slots slots = {{"country", c.name}, {"Country", capitalize(c.name)},
                   {"Pron", "It"},      {"pron", "it"},
                   {"poss", "its"},     {"Poss", "Its"}};
    std::string subject = "w_" + slug(c.name);
    std::map<std::string, std::string> values = {{"capital", c.capital},
                                                 {"continent", c.continent},
                                                 {"currency", c.currency},
                                                 {"language", c.language}};
    std::vector<FactDraft> facts;
    for (const auto& r : country_relations)
      facts.push_back(make_fact(nullptr, subject, slots, r, values[r]));
    for (const auto& f : facts) out_.facts.push_back(to_fact(f, Subset::world));
    add_corpus_docs(subject, facts, docs);
    for (const auto& f : facts) add_world(f, "", world_candidates_countries);
  }
  rng_.shuffle(world_candidates_countries);
  if (static_cast<int>(world_candidates_countries.size()) > opt_.world_country_qa)
    world_candidates_countries.resize(opt_.world_country_qa);
  out_.world = world_candidates_people;
  out_.world.insert(out_.world.end(), world_candidates_countries.begin(),
                    world_candidates_countries.end());
  rng_.shuffle(docs);  // mix people, countries, prose and QA for pretraining
  out_.corpus = std::move(docs);
  out_.manifest = nlohmann::json::object();
  out_.index();
  return std::move(out_);
}

}  // namespace

data::Dataset generate_offline(const GenerateOptions& options) {
  options.validate();
  return Generator(options).run();
}

}  // namespace lethe::datagen
