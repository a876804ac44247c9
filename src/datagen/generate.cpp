// Backend dispatch, dataset writing with its manifest, and the automatic quality check.
#include "datagen/generate.h"

#include <chrono>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "datagen/llm_generator.h"
#include "datagen/offline_generator.h"

namespace lethe::datagen {

namespace fs = std::filesystem;

const std::vector<Backend>& backends() {
  static const std::vector<Backend> list = {
      {"offline", kOfflineGeneratorName, kOfflineGeneratorVersion, generate_offline},
      {"openai", kLlmGeneratorName, kLlmGeneratorVersion, generate_with_llm},
  };
  return list;
}

nlohmann::json write_dataset(const data::Dataset& d, const fs::path& dir,
                             const GenerateOptions& options, const Backend& backend) {
  // Every file is staged first and renamed into place together at the end, so a full disk or a
  // read-only folder leaves an existing dataset in `dir` exactly as it was.
  std::error_code ec;
  fs::create_directories(dir, ec);
  LETHE_CHECK(!ec, dir.string(), ": cannot create folder: ", ec.message());
  core::StagedFiles staged;
  nlohmann::json files = nlohmann::json::object();
  auto stage = [&](const std::string& name, const std::string& text) {
    staged.add(dir / name, text);
    files[name] = {{"bytes", text.size()}, {"sha256", core::sha256_hex(text)}};
  };
  stage(data::files::profiles, data::records_jsonl(d.profiles));
  stage(data::files::facts, data::records_jsonl(d.facts));
  stage(data::files::sf, data::records_jsonl(d.sf));
  stage(data::files::sr, data::records_jsonl(d.sr));
  stage(data::files::wrong_details, data::records_jsonl(d.wrong_details));
  stage(data::files::forget_eval, data::records_jsonl(d.forget_eval));
  stage(data::files::world, data::records_jsonl(d.world));
  stage(data::files::holdout, data::records_jsonl(d.holdout));
  stage(data::files::corpus, data::records_jsonl(d.corpus));

  nlohmann::json counts = {{data::files::profiles, d.profiles.size()},
                           {data::files::facts, d.facts.size()},
                           {data::files::sf, d.sf.size()},
                           {data::files::sr, d.sr.size()},
                           {data::files::wrong_details, d.wrong_details.size()},
                           {data::files::forget_eval, d.forget_eval.size()},
                           {data::files::world, d.world.size()},
                           {data::files::holdout, d.holdout.size()},
                           {data::files::corpus, d.corpus.size()}};
  nlohmann::json subsets = nlohmann::json::object();
  for (const auto* list : {&d.sf, &d.sr, &d.world, &d.holdout})
    for (const auto& q : *list) {
      std::string name = data::subset_name(q.subset);
      subsets[name] = subsets.value(name, 0) + 1;
    }
  nlohmann::json roles = nlohmann::json::object();
  for (const auto& p : d.profiles) {
    std::string name = data::role_name(p.role);
    roles[name] = roles.value(name, 0) + 1;
  }
  size_t corpus_bytes = 0;
  for (const auto& c : d.corpus) corpus_bytes += c.text.size();
  for (const auto& name : data::dataset_jsonl_files())
    files[name] = {{"records", counts[name]},
                   {"bytes", files[name]["bytes"]},
                   {"sha256", files[name]["sha256"]}};
  nlohmann::json manifest = {{"generator", backend.generator},
                             {"generator_version", backend.version},
                             {"seed", options.seed},
                             {"options", options.to_json()},
                             {"counts", counts},
                             {"subsets", subsets},
                             {"people", roles},
                             {"corpus_text_bytes", corpus_bytes},
                             {"files", files}};
  staged.add(dir / data::files::manifest, manifest.dump(2) + "\n");
  staged.commit();
  return manifest;
}

GenerateResult generate_dataset(const GenerateOptions& options) {
  auto start = std::chrono::steady_clock::now();
  const Backend* backend = nullptr;
  std::string names;
  for (const auto& b : backends()) {
    names += (names.empty() ? "" : "|") + b.name;
    if (b.name == options.backend) backend = &b;
  }
  if (!backend) throw UsageError("--backend '" + options.backend + "' is not one of " + names);
  options.validate();
  data::Dataset dataset = backend->generate(options);
  dataset.dir = options.out_dir;
  GenerateResult result;
  result.manifest = write_dataset(dataset, options.out_dir, options, *backend);
  if (options.check) {
    // Check what was written, read back from disk, so the report covers the files themselves.
    result.report = check_dataset_dir(options.out_dir);
    write_quality_report(options.out_dir, *result.report);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace lethe::datagen
