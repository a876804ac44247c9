// The LLM backend's options of `lethe data generate` (owned by the "llm" engineer; cmd_data.cpp
// calls add_llm_generate_options on its generate subcommand).
#pragma once
#include <CLI/CLI.hpp>

namespace lethe::cli {

// Adds --rpm, --tpm, --concurrency, --max-attempts, --cache, ... ; they fill
// datagen::llm_generate_settings(), which the "openai" backend reads. (--base-url, --model and
// --api-key-env are GenerateOptions fields added by cmd_data.cpp.)
void add_llm_generate_options(CLI::App& generate);

}  // namespace lethe::cli
