// `lethe eval` as a library call: model + dataset loading, the specs, hashes and the results file.
#include "eval/evaluator_run.h"

#include <chrono>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/runtime.h"
#include "core/sha256.h"
#include "io/sisa_folder.h"
#include "model/pretrained.h"

namespace lethe::eval {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string folder_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) ||
         fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
}

}  // namespace

std::vector<ModelSpec> model_specs(const EvalRunConfig& config) {
  LETHE_CHECK(config.names.empty() || config.names.size() == config.adapters.size(),
              "eval: give one --name per --adapter (", config.names.size(), " names, ",
              config.adapters.size(), " adapters)");
  std::vector<ModelSpec> specs;
  std::set<std::string> used;
  const auto unique = [&](std::string name) {
    std::string candidate = name;
    for (int k = 2; used.count(candidate); ++k) candidate = name + "_" + std::to_string(k);
    used.insert(candidate);
    return candidate;
  };
  if (!config.skip_base) specs.push_back({unique("base"), "", false, false});
  bool retain_found = false;
  for (size_t i = 0; i < config.adapters.size(); ++i) {
    const auto& a = config.adapters[i];
    LETHE_CHECK(fs::is_directory(a), "eval: adapter folder ", a, " does not exist");
    // A sharded (SISA) fine-tune evaluates as its merged/ adapter.
    ModelSpec s{unique(config.names.empty() ? folder_name(a) : config.names[i]),
                io::resolve_sisa_adapter(a).string(), false, false};
    if (!config.retain_model.empty() && same_path(a, config.retain_model)) {
      s.retain_reference = !retain_found;
      retain_found = true;
    }
    specs.push_back(s);
  }
  if (!config.retain_model.empty() && !retain_found) {
    LETHE_CHECK(fs::is_directory(config.retain_model), "eval: --retain-model folder ",
                config.retain_model, " does not exist");
    specs.push_back(
        {unique("retain"), io::resolve_sisa_adapter(config.retain_model).string(), false, true});
  }
  if (config.icu) specs.push_back({unique("icu"), "", true, false});
  LETHE_CHECK(!specs.empty(), "eval: nothing to evaluate (--skip-base without adapters)");
  return specs;
}

json run_evaluation(const EvalRunConfig& config) {
  const auto t0 = std::chrono::steady_clock::now();
  LETHE_CHECK(!config.data.empty(), "eval: no dataset folder given (--data)");
  LETHE_CHECK(fs::is_directory(config.data), "eval: dataset folder ", config.data,
              " does not exist");
  const auto specs = model_specs(config);
  EvalOptions options = config.options;
  options.have_retain_model = !config.retain_model.empty();
  // Validate the metric list before the (slow) model load.
  resolve_metrics(options.metrics, options.have_retain_model);
  const data::Dataset dataset = data::load_dataset(config.data);
  auto pretrained = model::load_pretrained(
      config.model, core::parse_dtype(config.dtype, core::parse_device(config.device)),
      core::parse_device(config.device));
  const auto& tokenizer = pretrained.require_tokenizer("lethe eval");
  LETHE_CHECK(tokenizer.has_chat_template(), "eval: ", pretrained.folder.string(),
              " has no chat template (tokenizer_config.json chat_template)");
  Evaluator evaluator(pretrained.model, tokenizer, pretrained.eos_token_ids, dataset, options);

  std::vector<ModelEval> evals;
  for (const auto& spec : specs) evals.push_back(evaluator.evaluate(spec));

  json results;
  results["lethe_version"] = LETHE_VERSION;
  results["complete"] = true;
  json cfg = {
      {"model", config.model},
      {"model_folder", pretrained.folder.string()},
      {"adapters", config.adapters},
      {"names", config.names},
      {"retain_model", config.retain_model.empty() ? json(nullptr) : json(config.retain_model)},
      {"icu", config.icu},
      {"skip_base", config.skip_base},
      {"data", config.data},
      {"dtype", config.dtype},
      {"device", config.device},
      {"max_new_tokens", options.max_new_tokens},
      {"batch_size", options.batch_size},
      {"min_k", options.min_k},
      {"limit", options.limit},
      {"metrics", evaluator.metrics()},
      {"eos_token_ids", pretrained.eos_token_ids},
      {"icu_system_prompt", options.icu_system_prompt.empty()
                                ? default_icu_prompt(evaluator.forget_target_names())
                                : options.icu_system_prompt}};
  results["config"] = cfg;
  json hashes;
  hashes["model"] = core::sha256_tree(pretrained.folder);
  json adapters = json::object();
  for (const auto& s : specs)
    if (!s.adapter.empty()) adapters[s.name] = core::sha256_tree(s.adapter);
  hashes["adapters"] = adapters;
  json data_hashes = json::object();
  for (const auto& name : data::dataset_jsonl_files()) {
    const fs::path p = fs::path(config.data) / name;
    if (fs::exists(p)) data_hashes[name] = core::sha256_file(p);
  }
  hashes["data"] = data_hashes;
  results["hashes"] = hashes;
  results["models"] = evaluator.results_json(evals);
  const auto& st = evaluator.stats();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  results["timing"] = {{"wall_seconds", wall},
                       {"scored_tokens", st.forward_tokens},
                       {"generated_tokens", st.generated_tokens},
                       {"prompt_tokens", st.prompt_tokens}};
  if (!config.out.empty()) core::write_json(config.out, results);
  return results;
}

}  // namespace lethe::eval
