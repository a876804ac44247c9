// The subcommand table's entries: each cmd_<name>.cpp defines one add_<name>_command, listed by its
// area's sources.cmake (list(APPEND LETHE_COMMANDS name) + list(APPEND LETHE_CLI_SOURCES src/cli/cmd_name.cpp)).
// A command adds its CLI11 subcommand with options (every option shows its default) and a callback
// that throws lethe::Error on failure; main.cpp turns errors into one line and an exit code.
#pragma once
#include <CLI/CLI.hpp>

namespace lethe::cli {

// Options every subcommand shares (declared on the top-level app, accepted after the subcommand).
struct GlobalOptions {
  int threads = 0;  // 0 = all available cores (core::setup_threads caps larger counts)
  bool quiet = false;
};

const GlobalOptions& global_options();

using AddCommand = void (*)(CLI::App& app);

// Applies --threads etc.; every command callback calls it first.
void apply_global_options();

// One declaration per subcommand, generated from LETHE_COMMANDS.
#define LETHE_COMMAND(name) void add_##name##_command(CLI::App& app);
#include "command_table.inc"
#undef LETHE_COMMAND


}  // namespace lethe::cli
