// The LLM backend of `lethe data generate` (--backend openai): the stages people -> facts -> QA
// (with wrong answers) -> forget-eval probes through an OpenAI-compatible API, prompt templates
// from prompts/*.txt, validation per stage, diversity checks and dedup; it writes nothing itself.
#pragma once
#include <string>

#include "data/dataset.h"
#include "datagen/generate_options.h"
#include "datagen/llm_client.h"

namespace lethe::datagen {

inline constexpr const char* kLlmGeneratorName = "lethe-llm";
inline constexpr const char* kLlmGeneratorVersion = "1.0.0";

// Settings of the LLM backend beyond GenerateOptions (base_url, model and api_key_env come from
// there and override llm's).
struct LlmGenerateSettings {
  LlmOptions llm;
  std::string cache_path;   // "" = OUT/llm_cache.sqlite
  std::string prompts_dir;  // "" = $LETHE_PROMPTS, else the repository's prompts/
  int people_per_request = 5;
  int background_facts = 8;     // facts per background person (corpus + world questions)
  double near_duplicate = 0.7;  // MinHash Jaccard above which two summaries are one person
  double over_generate = 0.25;  // extra people drawn to replace those dropped by checks
};

// Process-wide settings that the CLI fills before generate_dataset() runs the "openai" backend.
LlmGenerateSettings& llm_generate_settings();

// The backend entry (reads llm_generate_settings()).
data::Dataset generate_with_llm(const GenerateOptions& options);
data::Dataset generate_llm_dataset(const GenerateOptions& options,
                                   const LlmGenerateSettings& settings);

// "{name} was born" with {"name": "Ana"} -> "Ana was born"; an unknown placeholder is an error
// naming `where` (the template file).
std::string fill_template(const std::string& text, const std::map<std::string, std::string>& slots,
                          const std::string& where);

}  // namespace lethe::datagen
