// lethe's entry point: the subcommand table, global options, and error -> exit code mapping.
#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "core/error_message.h"
#include "core/progress.h"
#include "core/runtime.h"

namespace lethe::cli {

namespace {
GlobalOptions g_options;

struct CommandEntry {
  const char* name;
  AddCommand add;
};

// The one list of subcommands, generated from the areas' LETHE_COMMANDS lists (explicit: nothing
// depends on static registration that a linker could drop).
const std::vector<CommandEntry> kCommands = {
#define LETHE_COMMAND(name) {#name, add_##name##_command},
#include "command_table.inc"
#undef LETHE_COMMAND
};

std::string first_line(const std::string& text) {
  auto pos = text.find('\n');
  return pos == std::string::npos ? text : text.substr(0, pos);
}
}  // namespace

const GlobalOptions& global_options() { return g_options; }

void apply_global_options() {
  core::setup_threads(g_options.threads);
  core::keep_freed_memory();
  core::Progress::set_quiet(g_options.quiet);
  core::warn_if_slow_blas();
}

int run_main(int argc, char** argv) {
  CLI::App app{
      "lethe: targeted machine unlearning for LLMs (data, LoRA, unlearning, evaluation, report)",
      "lethe"};
  app.set_version_flag("--version", std::string("lethe ") + LETHE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.option_defaults()->always_capture_default();
  app.add_option("--threads", g_options.threads,
                 "CPU threads for libtorch (0 = all cores; more than the cores are capped to them)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_flag("--quiet", g_options.quiet, "no progress output");
  for (const auto& cmd : kCommands) cmd.add(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "lethe: error: %s (see lethe --help)\n", first_line(e.what()).c_str());
    return 2;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "lethe: error: %s\n", first_line(e.what()).c_str());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "lethe: error: %s\n", first_line(e.what()).c_str());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "lethe: error: %s\n", first_line(e.what_without_backtrace()).c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(
        stderr,
        "lethe: error: out of memory (try a smaller batch, bfloat16, or a smaller model)\n");
    return 1;
  } catch (const std::exception& e) {
    // std::filesystem_error among them: "PATH: cannot create directories: REASON", not
    // libstdc++'s "filesystem error: ... [PATH]".
    std::fprintf(stderr, "lethe: error: %s\n", first_line(core::error_message(e)).c_str());
    return 1;
  }
  return 0;
}

}  // namespace lethe::cli

int main(int argc, char** argv) { return lethe::cli::run_main(argc, argv); }
