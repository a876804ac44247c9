// The LLM generator's records from its finished people: profiles, facts, sf/sr/world/holdout QA,
// wrong details, forget-eval probes and the corpus, with the offline generator's ids and shapes
// and its country facts; cross-person leaks and repeated questions are dropped here.
#include <algorithm>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "datagen/dedup.h"
#include "datagen/llm_stages.h"
#include "datagen/offline_generator.h"
#include "datagen/probes.h"
#include "datagen/text_match.h"

namespace lethe::datagen::llm {

namespace {

using data::Role;
using data::Subset;

// The records being assembled and what was dropped on the way.
struct Assembly {
  explicit Assembly(uint64_t seed) : rng(seed) {}
  data::Dataset out;
  std::vector<data::CorpusDoc> corpus;
  std::set<std::string> questions_seen;  // normalised, across every person
  int dropped_people = 0, dropped_questions = 0;
  core::Mt19937Rng rng;  // probe choices, then the corpus order
};

// A target whose forget questions did not all get probe texts cannot be evaluated.
bool probes_complete(const Person& p, const std::map<std::string, json>& probes) {
  return std::all_of(p.facts.begin(), p.facts.end(), [&](const data::Fact& f) {
    return f.subset != Subset::forget || probes.count("q_" + f.id);
  });
}

// A background person whose text names a target or holdout person would leak it into the corpus.
bool names_hidden_person(const Person& p, const std::set<std::string>& hidden_names) {
  std::string all = p.profile.summary;
  for (const auto& f : p.facts) all += " | " + f.text;
  std::string padded = " " + normalize_text(all) + " ";
  bool leaks = false;
  for (const auto& h : hidden_names)
    leaks = leaks || padded.find(" " + h + " ") != std::string::npos;
  return leaks;
}

// A target's forget or retain question: its wrong details, the QA file, and for a forget question
// its probes.
void add_target_question(Assembly& a, const Person& p, const data::Fact& f, const data::QAPair& qa,
                         const std::string& para, const std::vector<std::string>& perturbed,
                         const std::vector<std::string>& wrong_values,
                         const std::vector<std::string>& para_questions,
                         const std::map<std::string, json>& probes) {
  data::WrongDetails w;
  w.qa_id = qa.id;
  w.person_id = qa.person_id;
  w.subset = qa.subset;
  w.question = qa.question;
  w.answer = qa.answer;
  w.paraphrased_answer = para;
  w.perturbed_answers = perturbed;
  w.paraphrased_questions = para_questions;
  a.out.wrong_details.push_back(w);
  (qa.subset == Subset::forget ? a.out.sf : a.out.sr).push_back(qa);
  if (qa.subset != Subset::forget) return;
  // Role play, the distracting passage and the reverse query are the model's; the rest is built.
  const json& pr = probes.at(qa.id);
  ProbeSource source;
  source.qa_id = qa.id;
  source.person_id = qa.person_id;
  source.question = qa.question;
  source.answer = qa.answer;
  source.person_name = p.profile.name;
  source.paraphrased_questions = para_questions;
  source.wrong_values = wrong_values;
  source.role_play = pr["role_play"].get<std::string>();
  source.reverse_query = pr["reverse_query"];
  source.passage = pr["passage"].get<std::string>();
  source.fill_blank = replace_all(f.text, f.value, "____");
  add_forget_probes(source, a.rng, a.out.forget_eval);
}

// Prose biographies of a background person: the summary and the fact sentences, rotated.
void add_prose(Assembly& a, const GenerateOptions& opt, const Person& p) {
  for (int k = 0; k < opt.corpus_prose; ++k) {
    std::vector<std::string> parts = {p.profile.summary};
    for (const auto& f : p.facts) parts.push_back(f.text);
    std::rotate(parts.begin(), parts.begin() + (k % parts.size()), parts.end());
    data::CorpusDoc d;
    d.id = "c_" + p.profile.id + "_prose_" + std::to_string(k);
    d.kind = data::DocKind::prose;
    d.person_id = p.profile.id;
    for (const auto& s : parts) d.text += (d.text.empty() ? "" : " ") + s;
    a.corpus.push_back(std::move(d));
  }
}

// One accepted person's records. Background facts go to the corpus (and the first
// world_person_qa of them to world.jsonl); holdout questions to holdout.jsonl.
void add_person(Assembly& a, const GenerateOptions& opt, const Person& p,
                const std::map<std::string, json>& probes) {
  const Role role = p.profile.role;
  a.out.profiles.push_back(p.profile);
  int world_left = opt.world_person_qa;
  for (const auto& f : p.facts) {
    const json& q = p.qa.at(f.id);  // the QA validator saw one item per fact
    data::QAPair qa;
    qa.id = "q_" + f.id;
    qa.person_id = p.profile.id;
    qa.fact_id = f.id;
    qa.subset = f.subset;
    qa.question = q["question"];
    qa.answer = f.value;
    std::string para = q["paraphrased_answer"];
    std::vector<std::string> wrong_values = q["wrong_values"];
    std::vector<std::string> perturbed;
    for (const auto& w : wrong_values) perturbed.push_back(replace_all(para, f.value, w));
    std::vector<std::string> para_questions = q["paraphrased_questions"];
    if (static_cast<int>(para_questions.size()) > opt.paraphrased_questions)
      para_questions.resize(opt.paraphrased_questions);
    a.out.facts.push_back(f);
    if (role == Role::background) {
      for (int k = 0; k < opt.corpus_phrasings; ++k) {
        data::CorpusDoc d;
        d.id = "c_" + f.id + "_qa_" + std::to_string(k);
        d.kind = data::DocKind::qa;
        d.person_id = p.profile.id;
        d.question = k == 0 ? qa.question : para_questions[(k - 1) % para_questions.size()];
        d.answer = f.value;
        d.text = "Question: " + d.question + "\nAnswer: " + d.answer;
        a.corpus.push_back(std::move(d));
      }
      if (world_left-- <= 0) continue;
    }
    if (!a.questions_seen.insert(normalize_text(qa.question)).second) {
      ++a.dropped_questions;
      continue;
    }
    if (role == Role::target) {
      add_target_question(a, p, f, qa, para, perturbed, wrong_values, para_questions, probes);
    } else {
      qa.paraphrased_answer = para;
      qa.perturbed_answers = perturbed;
      (role == Role::holdout ? a.out.holdout : a.out.world).push_back(qa);
    }
  }
  if (role == Role::background) add_prose(a, opt, p);
}

// Countries: real-world facts from the offline generator's curated table.
void add_countries(Assembly& a, const GenerateOptions& opt) {
  GenerateOptions world_opt = opt;
  world_opt.targets = 1;
  world_opt.holdout = 0;
  world_opt.background = 0;
  data::Dataset world = generate_offline(world_opt);
  for (const auto& f : world.facts)
    if (f.person_id.empty()) a.out.facts.push_back(f);
  for (const auto& q : world.world)
    if (q.person_id.empty()) a.out.world.push_back(q);
  for (const auto& c : world.corpus)
    if (c.person_id.empty()) a.corpus.push_back(c);
}

// Near-duplicate questions across the whole dataset (reported, not dropped).
int near_duplicate_questions(const data::Dataset& d) {
  std::vector<std::string> all_questions;
  for (const auto* list : {&d.sf, &d.sr, &d.world, &d.holdout})
    for (const auto& q : *list) all_questions.push_back(q.question);
  DedupResult qd = deduplicate(all_questions, DedupOptions{2, 64, 16, 0.9});
  int near_q = 0;
  for (const auto& dup : qd.duplicates) near_q += !dup.exact;
  return near_q;
}

}  // namespace

data::Dataset assemble_dataset(StageContext& ctx, std::vector<Person>& people,
                               const std::map<std::string, json>& probes) {
  const GenerateOptions& opt = ctx.options;
  Assembly a(opt.seed ^ 0x6c6c6dULL);
  std::set<std::string> hidden_names;  // targets and holdout: never in the corpus or world
  for (const auto& p : people)
    if (p.complete && p.profile.role != Role::background)
      hidden_names.insert(normalize_text(p.profile.name));
  for (auto& p : people) {
    const Role role = p.profile.role;
    if (!p.complete || (role == Role::target && !probes_complete(p, probes)) ||
        (role == Role::background && names_hidden_person(p, hidden_names))) {
      ++a.dropped_people;
      continue;
    }
    add_person(a, opt, p, probes);
  }
  add_countries(a, opt);
  a.rng.shuffle(a.corpus);
  data::Dataset out = std::move(a.out);
  out.corpus = std::move(a.corpus);
  out.manifest = json::object();
  out.index();

  ctx.report["dedup"] = {{"dropped_people", a.dropped_people},
                         {"dropped_exact_duplicate_questions", a.dropped_questions},
                         {"near_duplicate_questions_0.9", near_duplicate_questions(out)}};
  int targets_made = 0;
  for (const auto& p : out.profiles) targets_made += p.role == Role::target;
  ctx.report["targets"] = {{"requested", opt.targets}, {"made", targets_made}};
  if (targets_made < opt.targets)
    std::fprintf(stderr,
                 "lethe: warning: %d of %d target people complete (see llm_generation.json)\n",
                 targets_made, opt.targets);
  LETHE_CHECK(targets_made > 0, "llm: no target person survived validation (see ", opt.out_dir,
              "/llm_generation.json)");
  return out;
}

}  // namespace lethe::datagen::llm
