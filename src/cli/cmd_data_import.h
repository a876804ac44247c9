// `lethe data import NAME SRC --out DIR`: published benchmarks turned into lethe dataset folders
// (cmd_data.cpp calls add_data_import on its `data` subcommand).
#pragma once
#include <CLI/CLI.hpp>

namespace lethe::cli {

// Adds `import` with one subcommand per benchmark (tofu, muse, rwku).
void add_data_import(CLI::App& data);

}  // namespace lethe::cli
