// The LLM generator's internals shared by its stages: the people being built, the prompt
// templates, one stage's request plumbing, and the four stages people -> facts -> QA -> probes.
// Not a public interface: generate_with_llm (llm_generator.h) is.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "datagen/generate_options.h"
#include "datagen/llm_client.h"

namespace lethe::datagen::llm {

// Prompt templates (prompts/*.txt), read once per run.
struct Prompts {
  std::string system, people, facts, qa, probes;
  std::filesystem::path dir;
};

// Reads the templates from `configured`, else $LETHE_PROMPTS, else the repository's prompts/.
Prompts load_prompts(const std::string& configured);

// One person as the stages fill it in.
struct Person {
  data::Profile profile;
  json draft;  // the people-stage object (breakthrough, incident)
  std::vector<data::Fact> facts;
  json qa;  // the QA-stage items by fact id
  bool complete = true;
};

// What every stage needs: the options, the client, the templates, the report it adds to.
class StageContext {
 public:
  StageContext(const GenerateOptions& options, LlmClient& client, Prompts prompts)
      : options(options), client(client), prompts(std::move(prompts)) {}

  // A system + user request; the sampling seed is a function of the run seed and `index` (each
  // stage numbers its requests from its own base, so stages never share a seed).
  ChatRequest make_request(const std::string& tag, const std::string& user, const json& schema,
                           const std::string& schema_name, Validator validate,
                           uint64_t index) const;
  // Sends a stage's requests with a progress line, adds report["stages"][stage]; replies in
  // request order (nullopt = dropped). Throws when no request got a valid reply.
  std::vector<std::optional<json>> run(const std::string& stage,
                                       const std::vector<ChatRequest>& requests);

  const GenerateOptions& options;
  LlmClient& client;
  const Prompts prompts;
  json report = json::object();
};

// The stages, in run order. people_stage makes the profiles; the others fill each complete person
// in (a person whose request was dropped is marked incomplete); probes_stage returns the model's
// probe texts by QA id.
std::vector<Person> people_stage(StageContext& ctx);
void facts_stage(StageContext& ctx, std::vector<Person>& people);
void qa_stage(StageContext& ctx, std::vector<Person>& people);
std::map<std::string, json> probes_stage(StageContext& ctx, const std::vector<Person*>& targets);

// The dataset's records from the finished people and the probe texts (plus the offline
// generator's country facts); adds report["dedup"] and report["targets"].
data::Dataset assemble_dataset(StageContext& ctx, std::vector<Person>& people,
                               const std::map<std::string, json>& probes);

// JSON-schema pieces for the stages' structured replies.
json string_schema();
json object_schema(const json& properties);  // every property required, no others
json array_schema(const json& items, int min_items);

// Text helpers of the stages.
std::string first_word(const std::string& name);  // normalised given name
size_t words(const std::string& s);               // words after normalisation
// Every occurrence of `from` in `text` replaced (case-sensitive; else the first case-insensitive
// one).
std::string replace_all(std::string text, const std::string& from, const std::string& to);

}  // namespace lethe::datagen::llm
