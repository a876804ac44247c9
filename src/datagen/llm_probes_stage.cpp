// The LLM generator's fourth stage: per target, the model writes the role-play persona, a
// distracting passage and the reverse query of each forget question (the other probe types are
// built in probes.cpp).
#include "datagen/llm_generator.h"
#include "datagen/llm_stages.h"
#include "datagen/llm_validators.h"

namespace lethe::datagen::llm {

std::map<std::string, json> probes_stage(StageContext& ctx, const std::vector<Person*>& targets) {
  std::vector<ChatRequest> requests;
  for (const Person* person : targets) {
    json questions = json::array();
    std::map<std::string, std::string> answers;
    for (const auto& f : person->facts)
      if (f.subset == data::Subset::forget) {
        questions.push_back({{"qa_id", "q_" + f.id},
                             {"question", person->qa[f.id]["question"]},
                             {"answer", f.value}});
        answers["q_" + f.id] = f.value;
      }
    std::string name = person->profile.name;
    std::string user = fill_template(ctx.prompts.probes,
                                     {{"name", name},
                                      {"input", json{{"person_name", name},
                                                     {"summary", person->profile.summary},
                                                     {"questions", questions}}
                                                    .dump(2)}},
                                     (ctx.prompts.dir / "probes.txt").string());
    json item = object_schema({{"qa_id", string_schema()},
                               {"role_play", string_schema()},
                               {"passage", string_schema()},
                               {"reverse_query", string_schema()}});
    json schema =
        object_schema({{"probes", array_schema(item, static_cast<int>(questions.size()))}});
    Validator validate = [answers, name](const json& reply) {
      return validate_probes_reply(reply, answers, name);
    };
    requests.push_back(ctx.make_request("probes " + person->profile.id, user, schema, "probes",
                                        validate, 3000000 + requests.size()));
  }
  auto replies = ctx.run("probes", requests);
  std::map<std::string, json> out;
  for (size_t i = 0; i < replies.size(); ++i)
    if (replies[i])
      for (const auto& p : (*replies[i])["probes"]) out[p["qa_id"].get<std::string>()] = p;
  return out;
}

}  // namespace lethe::datagen::llm
