// Options of `lethe data generate --backend openai` (rate limits, retries, cache, prompts).
// Note for the data engineer: cmd_data.cpp calls add_llm_generate_options(*gen, opt->llm) after its
// own options, and generate.cpp's backends() lists {"openai", kLlmGeneratorName,
// kLlmGeneratorVersion, generate_with_llm} (datagen/llm_generator.h).
#include "cli/cmd_data_llm.h"

#include "datagen/generate_options.h"

namespace lethe::cli {

void add_llm_generate_options(CLI::App& generate, datagen::LlmGenerateSettings& s) {
  const std::string group = "openai backend";
  generate
      .add_option("--rpm", s.client.limits.requests_per_minute,
                  "requests per minute (0 = unlimited)")
      ->group(group)
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  generate
      .add_option("--tpm", s.client.limits.tokens_per_minute,
                  "tokens per minute, prompt + completion (0 = unlimited)")
      ->group(group)
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  generate
      .add_option("--concurrency", s.client.limits.concurrency,
                  "requests in flight (worker threads)")
      ->group(group)
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  generate
      .add_option("--max-attempts", s.client.max_attempts,
                  "HTTP attempts per request (429, 5xx, timeouts, "
                  "connection errors) before the run stops")
      ->group(group)
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  generate
      .add_option("--max-invalid-retries", s.client.max_invalid_retries,
                  "follow-ups after an invalid reply before it is dropped")
      ->group(group)
      ->check(CLI::Range(0, 10))
      ->capture_default_str();
  generate
      .add_option("--cache", s.cache_path,
                  "SQLite cache of validated replies (default OUT/llm_cache.sqlite)")
      ->group(group)
      ->capture_default_str();
  generate
      .add_option("--prompts", s.prompts_dir,
                  "folder of prompt templates (default $LETHE_PROMPTS or the "
                  "repository's prompts/)")
      ->group(group)
      ->capture_default_str();
  generate.add_option("--temperature", s.client.temperature, "sampling temperature")
      ->group(group)
      ->check(CLI::Range(0.0, 2.0))
      ->capture_default_str();
  generate.add_option("--max-tokens", s.client.max_tokens, "max_tokens per reply")
      ->group(group)
      ->check(CLI::Range(64, 1000000))
      ->capture_default_str();
  generate
      .add_option("--request-timeout", s.client.request_timeout_s,
                  "seconds before a request is abandoned and retried")
      ->group(group)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  generate
      .add_option("--connect-timeout", s.client.connect_timeout_s,
                  "seconds to establish a connection")
      ->group(group)
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  generate
      .add_option("--backoff", s.client.backoff_base_s,
                  "first retry delay in seconds (doubles, with jitter)")
      ->group(group)
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  generate.add_option("--people-per-request", s.people_per_request, "people invented per request")
      ->group(group)
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  generate
      .add_flag(
          "--response-format,!--no-response-format", s.client.response_format,
          "ask for structured output, response_format json_schema (on unless --no-response-format)")
      ->group(group)
      ->capture_default_str();
}

}  // namespace lethe::cli
