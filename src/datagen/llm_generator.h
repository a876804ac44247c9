// The LLM backend of `lethe data generate` (--backend openai): the stages people -> facts -> QA
// (with wrong answers) -> forget-eval probes through an OpenAI-compatible API, prompt templates
// from prompts/*.txt, validation per stage, diversity checks and dedup (the dataset files are
// written by generate.cpp).
#pragma once
#include <map>
#include <string>

#include "data/dataset.h"
#include "datagen/generate_options.h"

namespace lethe::datagen {

inline constexpr const char* kLlmGeneratorName = "lethe-llm";
inline constexpr const char* kLlmGeneratorVersion = "1.0.0";

// The backend entry: options.llm holds its settings (options.base_url, model and api_key_env,
// when set, override options.llm.client's). Writes the request cache and OUT/llm_generation.json.
data::Dataset generate_with_llm(const GenerateOptions& options);

// "{name} was born" with {"name": "Ana"} -> "Ana was born"; an unknown placeholder is an error
// naming `where` (the template file).
std::string fill_template(const std::string& text, const std::map<std::string, std::string>& slots,
                          const std::string& where);

}  // namespace lethe::datagen
