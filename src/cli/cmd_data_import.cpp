// `lethe data import tofu SRC --out DIR [--split forget10]`: TOFU's JSON-lines files into a dataset
// folder that eval, finetune, unlearn and run read (datagen/tofu_import.h).
#include "cli/cmd_data_import.h"

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/output_lock.h"
#include "datagen/tofu_import.h"

namespace lethe::cli {

namespace {

void add_import_tofu(CLI::App& import) {
  auto opt = std::make_shared<datagen::TofuImportOptions>();
  auto src = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* tofu = import.add_subcommand(
      "tofu",
      "TOFU (locuslab/TOFU): forgetNN_perturbed.json, retainNN.json, retain_perturbed.json, "
      "real_authors_perturbed.json, world_facts_perturbed.json [, forgetNN.json, "
      "holdoutNN.json]");
  tofu->add_option("src", *src, "folder holding TOFU's .json files")->required();
  tofu->add_option("--out", *out, "dataset folder to write (files written atomically)")->required();
  tofu->add_option("--split", opt->split,
                   "forget01 | forget05 | forget10 (retain is the complement: retain99 | retain95 "
                   "| retain90)")
      ->capture_default_str();
  tofu->add_option("--qa-per-author", opt->qa_per_author,
                   "questions per author in TOFU's files (authors are read by position)")
      ->capture_default_str();
  tofu->callback([opt, src, out] {
    apply_global_options();
    opt->src = *src;
    opt->out = *out;
    const auto lock = lock_output_folder(*out);
    const nlohmann::json m = datagen::import_tofu(*opt);
    std::printf("wrote %s (TOFU %s, retain %s)\n", out->c_str(),
                m["split"].get<std::string>().c_str(),
                m["retain_split"].get<std::string>().c_str());
    for (const auto& [file, n] : m["counts"].items())
      std::printf("  %-20s %6d records\n", file.c_str(), n.get<int>());
    std::printf("  subsets: %s\n", m["subsets"].dump().c_str());
  });
}

}  // namespace

void add_data_import(CLI::App& data) {
  auto* import = data.add_subcommand("import", "turn a published benchmark into a dataset folder");
  import->require_subcommand(1);
  add_import_tofu(*import);
}

}  // namespace lethe::cli
