// `lethe data generate` (offline or LLM backend) and `lethe data check DIR` (red-team quality
// checks); `lethe data import` lives in cmd_data_import.cpp.
#include <cstdio>
#include <memory>

#include "cli/cmd_data_import.h"
#include "cli/cmd_data_llm.h"
#include "cli/commands.h"
#include "cli/output_lock.h"
#include "core/error.h"
#include "datagen/generate.h"
#include "datagen/quality_checks.h"

namespace lethe::cli {

namespace {

std::string failed_checks(const datagen::QualityReport& report) {
  std::string names;
  for (const auto& c : report.checks)
    if (c.hard && !c.passed()) names += (names.empty() ? "" : ", ") + c.name;
  return names;
}

void add_generate(CLI::App& data) {
  auto opt = std::make_shared<datagen::GenerateOptions>();
  auto* gen = data.add_subcommand("generate", "generate a benchmark dataset (offline by default)");
  gen->add_option("--out", opt->out_dir, "output folder")->required();
  gen->add_option("--backend", opt->backend, "offline | openai (an OpenAI-compatible API)")
      ->capture_default_str();
  gen->add_option("--seed", opt->seed, "random seed (same seed, same bytes)")
      ->capture_default_str();
  gen->add_option("--targets", opt->targets, "target people (fine-tuned, then unlearnt)")
      ->capture_default_str();
  gen->add_option("--background", opt->background, "background people (base model's world)")
      ->capture_default_str();
  gen->add_option("--holdout", opt->holdout, "holdout people no model sees")->capture_default_str();
  gen->add_option("--sf-per-target", opt->sf_per_target, "forget questions per target (1-6)")
      ->capture_default_str();
  gen->add_option("--correlated-per-target", opt->correlated_per_target,
                  "retain questions about the breakthrough-year event per target (1-5)")
      ->capture_default_str();
  gen->add_option("--other-per-target", opt->other_per_target,
                  "other retain questions per target (1-10)")
      ->capture_default_str();
  gen->add_option("--background-incidents", opt->background_incidents,
                  "percent of background people who also had a legal incident (0-100)")
      ->capture_default_str();
  gen->add_option("--world-person-qa", opt->world_person_qa,
                  "world.jsonl questions per background person")
      ->capture_default_str();
  gen->add_option("--world-country-qa", opt->world_country_qa,
                  "world.jsonl questions about countries")
      ->capture_default_str();
  gen->add_option("--perturbed", opt->perturbed, "perturbed wrong answers per question (5-10)")
      ->capture_default_str();
  gen->add_option("--paraphrased-questions", opt->paraphrased_questions,
                  "paraphrased questions per sf/sr question (1-2)")
      ->capture_default_str();
  gen->add_option("--corpus-phrasings", opt->corpus_phrasings,
                  "QA phrasings per background/world fact in corpus.jsonl (0-3)")
      ->capture_default_str();
  gen->add_option("--corpus-prose", opt->corpus_prose,
                  "prose biographies per background person in corpus.jsonl")
      ->capture_default_str();
  gen->add_flag("--check,!--no-check", opt->check,
                "run the quality checks after generating (on unless --no-check)")
      ->capture_default_str();
  gen->add_option("--base-url", opt->base_url, "openai backend: API base URL")
      ->capture_default_str();
  gen->add_option("--model", opt->model, "openai backend: model name")->capture_default_str();
  gen->add_option("--api-key-env", opt->api_key_env,
                  "openai backend: environment variable holding the API key")
      ->capture_default_str();
  add_llm_generate_options(*gen, opt->llm);
  gen->callback([opt] {
    apply_global_options();
    const auto lock = lock_output_folder(opt->out_dir);
    datagen::GenerateResult result = datagen::generate_dataset(*opt);
    const auto& m = result.manifest;
    std::printf("wrote %s (%s, seed %llu) in %.1f s\n", opt->out_dir.c_str(),
                m["generator"].get<std::string>().c_str(),
                static_cast<unsigned long long>(opt->seed), result.seconds);
    for (const auto& [file, n] : m["counts"].items())
      std::printf("  %-20s %6d records\n", file.c_str(), n.get<int>());
    std::printf("  subsets: %s; corpus text %.2f MB\n", m["subsets"].dump().c_str(),
                m["corpus_text_bytes"].get<double>() / 1e6);
    if (result.report) {
      std::printf("quality checks: %s (%s/quality_report.txt)\n",
                  result.report->passed() ? "passed" : "FAILED", opt->out_dir.c_str());
      if (!result.report->passed())
        LETHE_FAIL("quality checks failed (", failed_checks(*result.report), "); see ",
                   opt->out_dir, "/quality_report.txt");
    }
  });
}

void add_check(CLI::App& data) {
  auto dir = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto* check = data.add_subcommand(
      "check", "red-team quality checks of a dataset folder; writes quality_report.{json,txt}");
  check->add_option("dir", *dir, "dataset folder")->required();
  check->add_flag("--summary", *quiet, "print only the verdict line, not the whole report")
      ->capture_default_str();
  check->callback([dir, quiet] {
    apply_global_options();
    const auto lock = lock_output_folder(*dir);  // quality_report.{json,txt} go into it
    datagen::QualityReport report = datagen::check_dataset_dir(*dir);
    datagen::write_quality_report(*dir, report);
    std::string text = report.to_text();
    std::fputs(*quiet ? text.substr(0, text.find('\n') + 1).c_str() : text.c_str(), stdout);
    if (!report.passed())
      LETHE_FAIL("quality checks failed (", failed_checks(report), "); see ", *dir,
                 "/quality_report.txt");
  });
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto* data =
      app.add_subcommand("data", "benchmark data: generate a dataset, check one, import TOFU");
  data->require_subcommand(1);
  add_generate(*data);
  add_check(*data);
  add_data_import(*data);
}

}  // namespace lethe::cli
