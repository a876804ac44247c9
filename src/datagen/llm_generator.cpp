// The LLM backend's entry: the client and its cache, the stages in order, and the run report
// (llm_generation.json, written also when a stage fails). The stages live in llm_*_stage.cpp.
#include "datagen/llm_generator.h"

#include "core/error.h"
#include "core/json_io.h"
#include "datagen/llm_stages.h"

namespace lethe::datagen {

namespace fs = std::filesystem;

namespace {

data::Dataset run_stages(llm::StageContext& ctx) {
  std::vector<llm::Person> people = llm::people_stage(ctx);
  llm::facts_stage(ctx, people);
  llm::qa_stage(ctx, people);
  std::vector<llm::Person*> targets;
  for (auto& p : people)
    if (p.complete && p.profile.role == data::Role::target) targets.push_back(&p);
  std::map<std::string, json> probes = llm::probes_stage(ctx, targets);
  return llm::assemble_dataset(ctx, people, probes);
}

}  // namespace

std::string fill_template(const std::string& text, const std::map<std::string, std::string>& slots,
                          const std::string& where) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('{', i);
    if (open == std::string::npos) break;
    size_t close = text.find('}', open);
    std::string key = close == std::string::npos ? "" : text.substr(open + 1, close - open - 1);
    bool placeholder = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return std::islower(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!placeholder) {
      out += text.substr(i, open + 1 - i);
      i = open + 1;
      continue;
    }
    auto it = slots.find(key);
    LETHE_CHECK(it != slots.end(), where, ": unknown placeholder {", key, "}");
    out += text.substr(i, open - i) + it->second;
    i = close + 1;
  }
  out += text.substr(i);
  return out;
}

data::Dataset generate_with_llm(const GenerateOptions& options) {
  options.validate();
  const LlmGenerateSettings& settings = options.llm;
  LlmOptions client_options = settings.client;
  if (!options.base_url.empty()) client_options.base_url = options.base_url;
  if (!options.model.empty()) client_options.model = options.model;
  if (!options.api_key_env.empty()) client_options.api_key_env = options.api_key_env;
  if (client_options.model.empty()) throw UsageError("--backend openai needs --model");
  llm::Prompts prompts = llm::load_prompts(settings.prompts_dir);
  fs::path cache_path = settings.cache_path.empty() ? fs::path(options.out_dir) / "llm_cache.sqlite"
                                                    : fs::path(settings.cache_path);
  RequestCache cache(cache_path);
  LlmClient client(client_options, &cache);
  llm::StageContext ctx(options, client, std::move(prompts));
  data::Dataset dataset;
  auto write_report = [&](const std::string& error) {
    json report = ctx.report;
    LlmStats s = client.stats();
    report["endpoint"] = client.endpoint();
    report["model"] = client_options.model;
    report["cache"] = cache_path.string();
    report["totals"] = {{"http_requests", s.http_requests},
                        {"cache_hits", s.cache_hits},
                        {"valid", s.completed},
                        {"dropped", s.dropped},
                        {"retried", s.retried},
                        {"invalid_replies", s.invalid},
                        {"prompt_tokens", s.prompt_tokens},
                        {"completion_tokens", s.completion_tokens}};
    if (!error.empty()) report["error"] = error;
    core::write_json(fs::path(options.out_dir) / "llm_generation.json", report);
  };
  fs::create_directories(options.out_dir);
  try {
    dataset = run_stages(ctx);
  } catch (const Error& e) {
    write_report(e.what());
    throw;
  }
  write_report("");
  return dataset;
}

}  // namespace lethe::datagen
