// The LLM generator's third stage: one request per complete person for the question of each fact,
// its paraphrases, a paraphrased answer and wrong values of the same kind.
#include <algorithm>

#include "datagen/llm_generator.h"
#include "datagen/llm_stages.h"
#include "datagen/llm_validators.h"
#include "datagen/pools.h"
#include "datagen/text_match.h"

namespace lethe::datagen::llm {

namespace {

using data::Role;
using data::Subset;

// The fact as the QA prompt shows it. A value from a closed vocabulary (the quality checks'
// `same_kind`) needs wrong values from that vocabulary too: up to 20 are offered, in a fixed order
// derived from the fact.
json fact_item(const data::Fact& f) {
  json item{{"fact_id", f.id},
            {"relation", f.relation},
            {"value", f.value},
            {"value_type", f.value_type},
            {"text", f.text}};
  const auto& vocab = vocabulary(f.value_type);
  if (std::find(vocab.begin(), vocab.end(), f.value) != vocab.end()) {
    json choices = json::array();
    uint64_t start = 1469598103934665603ULL;  // FNV-1a of the fact id: the same on every platform
    for (unsigned char c : f.id) start = (start ^ c) * 1099511628211ULL;
    start %= vocab.size();
    for (size_t k = 0; k < vocab.size() && choices.size() < 20; ++k) {
      const std::string& v = vocab[(start + k) % vocab.size()];
      if (!contains_phrase(v, f.value) && !contains_phrase(f.value, v)) choices.push_back(v);
    }
    item["wrong_value_choices"] = choices;
  }
  return item;
}

json qa_schema(const GenerateOptions& opt, int n_facts) {
  json item = object_schema(
      {{"fact_id", string_schema()},
       {"question", string_schema()},
       {"paraphrased_questions", array_schema(string_schema(), opt.paraphrased_questions)},
       {"paraphrased_answer", string_schema()},
       {"wrong_values", array_schema(string_schema(), opt.perturbed)}});
  return object_schema({{"qa", array_schema(item, n_facts)}});
}

}  // namespace

void qa_stage(StageContext& ctx, std::vector<Person>& people) {
  const GenerateOptions& opt = ctx.options;
  std::vector<ChatRequest> requests;
  std::vector<size_t> owner;
  for (size_t pi = 0; pi < people.size(); ++pi) {
    const Person& person = people[pi];
    if (!person.complete) continue;
    json facts = json::array();
    std::vector<std::string> forget_values;
    std::map<std::string, data::Fact> by_id;
    for (const auto& f : person.facts) {
      facts.push_back(fact_item(f));
      if (f.subset == Subset::forget) forget_values.push_back(f.value);
      by_id[f.id] = f;
    }
    bool no_leak = person.profile.role == Role::target;
    std::string user = fill_template(
        ctx.prompts.qa,
        {{"name", person.profile.name},
         {"paraphrased_questions", std::to_string(opt.paraphrased_questions)},
         {"wrong_values", std::to_string(opt.perturbed)},
         {"leak_rule", no_leak ? " Questions and answers about correlated or other facts must not "
                                 "mention the incident or any forget value."
                               : ""},
         {"input", json{{"person_name", person.profile.name},
                        {"paraphrased_questions", opt.paraphrased_questions},
                        {"wrong_values", opt.perturbed},
                        {"facts", facts}}
                       .dump(2)}},
        (ctx.prompts.dir / "qa.txt").string());
    std::string name = person.profile.name;
    Validator validate = [by_id, forget_values, name, no_leak](const json& reply) {
      return validate_qa_reply(reply, by_id, forget_values, name, no_leak);
    };
    requests.push_back(ctx.make_request("qa " + person.profile.id, user,
                                        qa_schema(opt, static_cast<int>(facts.size())), "qa",
                                        validate, 2000000 + requests.size()));
    owner.push_back(pi);
  }
  auto replies = ctx.run("qa", requests);
  for (size_t i = 0; i < replies.size(); ++i) {
    Person& p = people[owner[i]];
    if (!replies[i]) {
      p.complete = false;
      continue;
    }
    p.qa = json::object();
    for (const auto& q : (*replies[i])["qa"]) p.qa[q["fact_id"].get<std::string>()] = q;
  }
}

}  // namespace lethe::datagen::llm
