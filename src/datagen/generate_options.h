// Options of `lethe data generate`, read by every backend (offline, openai) and written to the
// manifest.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "datagen/llm_client.h"

namespace lethe::datagen {

// Settings of the openai backend beyond the shared options (unused offline).
struct LlmGenerateSettings {
  LlmOptions client;        // endpoint, sampling, timeouts, retries, rate limits
  std::string cache_path;   // "" = OUT/llm_cache.sqlite
  std::string prompts_dir;  // "" = $LETHE_PROMPTS, else the repository's prompts/
  int people_per_request = 5;
  int background_facts = 8;     // facts per background person (corpus + world questions)
  double near_duplicate = 0.7;  // MinHash Jaccard above which two summaries are one person
  double over_generate = 0.25;  // extra people drawn to replace those dropped by checks
};

struct GenerateOptions {
  std::string out_dir;
  std::string backend = "offline";  // offline | openai
  uint64_t seed = 42;

  // Sizes. Per target: sf_per_target forget questions (incident facts), correlated_per_target and
  // other_per_target retain questions.
  int targets = 10;
  int background = 50;  // people in the base model's world (corpus + world.jsonl)
  // Percent of background people who also had a legal incident (facts in the corpus and world):
  // the base model knows what such incidents are and how they are told, as a pretrained LLM does,
  // so fine-tuning teaches who did what, not a new vocabulary.
  int background_incidents = 50;
  int holdout = 10;               // people no model sees (holdout.jsonl)
  int sf_per_target = 4;          // <= 6 (type, year, city, institution, outcome, detail)
  int correlated_per_target = 4;  // <= 5 (event, year, city, venture, partner)
  int other_per_target = 6;       // <= 10 (birthplace, birth year, university, ...)
  int world_person_qa = 1;        // world.jsonl questions per background person
  int world_country_qa = 60;      // world.jsonl questions about countries
  int perturbed = 5;              // perturbed wrong answers per question (>= 5)
  int paraphrased_questions = 2;  // per sf/sr question (also the paraphrase probes)
  int corpus_phrasings = 3;       // QA phrasings per background / world fact in corpus.jsonl
  int corpus_prose = 2;           // prose biographies per background person in corpus.jsonl

  bool check = true;  // run the quality checks after generating

  // The openai backend's settings (filled by its options; unused offline). base_url, model and
  // api_key_env, when set, override llm.client's.
  std::string base_url;
  std::string model;
  std::string api_key_env = "OPENAI_API_KEY";
  LlmGenerateSettings llm;

  // Throws lethe::UsageError naming the option when a value is out of range.
  void validate() const;
  // The size options as JSON (for the manifest; never contains secrets).
  nlohmann::json to_json() const;
};

}  // namespace lethe::datagen
