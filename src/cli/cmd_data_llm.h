// The LLM backend's options of `lethe data generate` (owned by the "llm" engineer; cmd_data.cpp
// calls add_llm_generate_options on its generate subcommand).
#pragma once
#include <CLI/CLI.hpp>

#include "datagen/generate_options.h"

namespace lethe::cli {

// Adds --rpm, --tpm, --concurrency, --max-attempts, --cache, ... ; they fill `settings`
// (GenerateOptions::llm, which the "openai" backend reads). (--base-url, --model and
// --api-key-env are GenerateOptions fields added by cmd_data.cpp.)
void add_llm_generate_options(CLI::App& generate, datagen::LlmGenerateSettings& settings);

}  // namespace lethe::cli
