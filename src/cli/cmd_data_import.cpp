// `lethe data import tofu|muse|rwku SRC --out DIR`: a benchmark's published files into a dataset
// folder that eval, finetune, unlearn and run read (datagen/tofu_import.h, muse_import.h,
// rwku_import.h).
#include "cli/cmd_data_import.h"

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/output_lock.h"
#include "datagen/muse_import.h"
#include "datagen/rwku_import.h"
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

void print_counts(const std::string& out, const std::string& what, const nlohmann::json& m) {
  std::printf("wrote %s (%s)\n", out.c_str(), what.c_str());
  for (const auto& [file, n] : m["counts"].items())
    std::printf("  %-20s %6d records\n", file.c_str(), n.get<int>());
  std::printf("  subsets: %s\n", m["subsets"].dump().c_str());
}

void add_import_muse(CLI::App& import) {
  auto opt = std::make_shared<datagen::MuseImportOptions>();
  auto src = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* muse = import.add_subcommand(
      "muse",
      "MUSE (swj0419/muse_bench data/<corpus>/): knowmem/forget_qa.json, knowmem/retain_qa.json "
      "[, knowmem/*_icl.json, verbmem/forget.json, privleak/{forget,retain,holdout}.json]");
  muse->add_option("src", *src, "muse_bench's data/<corpus> folder")->required();
  muse->add_option("--out", *out, "dataset folder to write (files written atomically)")->required();
  muse->add_option("--corpus", opt->corpus, "news | books (recorded in the manifest)")
      ->capture_default_str();
  muse->callback([opt, src, out] {
    apply_global_options();
    opt->src = *src;
    opt->out = *out;
    const auto lock = lock_output_folder(*out);
    print_counts(*out, "MUSE-" + opt->corpus, datagen::import_muse(*opt));
  });
}

void add_import_rwku(CLI::App& import) {
  auto opt = std::make_shared<datagen::RwkuImportOptions>();
  auto src = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* rwku = import.add_subcommand(
      "rwku",
      "RWKU (jinzhuoran/RWKU All/ or Target/N_Name/): forget_level1.json, forget_level2.json, "
      "forget_level3.json, neighbor_level1.json, neighbor_level2.json");
  rwku->add_option("src", *src, "folder holding RWKU's probe files")->required();
  rwku->add_option("--out", *out, "dataset folder to write (files written atomically)")->required();
  rwku->callback([opt, src, out] {
    apply_global_options();
    opt->src = *src;
    opt->out = *out;
    const auto lock = lock_output_folder(*out);
    const nlohmann::json m = datagen::import_rwku(*opt);
    print_counts(*out, "RWKU, " + m["targets"].dump() + " targets", m);
  });
}

}  // namespace

void add_data_import(CLI::App& data) {
  auto* import = data.add_subcommand("import", "turn a published benchmark into a dataset folder");
  import->require_subcommand(1);
  add_import_tofu(*import);
  add_import_muse(*import);
  add_import_rwku(*import);
}

}  // namespace lethe::cli
