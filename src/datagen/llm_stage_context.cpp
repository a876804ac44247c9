// The plumbing every LLM stage shares: prompt templates, request construction, one stage's run
// with its progress line and report entry, reply-schema pieces and text helpers.
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/progress.h"
#include "datagen/llm_stages.h"
#include "datagen/text_match.h"
#include "lethe_source_dir.h"

namespace lethe::datagen::llm {

namespace fs = std::filesystem;

namespace {

fs::path default_prompts_dir(const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* env = std::getenv("LETHE_PROMPTS"); env && *env) return env;
  return fs::path(LETHE_SOURCE_DIR) / "prompts";
}

}  // namespace

Prompts load_prompts(const std::string& configured) {
  Prompts p;
  p.dir = default_prompts_dir(configured);
  auto read = [&](const char* name) {
    fs::path path = p.dir / name;
    LETHE_CHECK(fs::exists(path), path.string(),
                ": prompt template missing (set --prompts DIR or $LETHE_PROMPTS)");
    return core::read_file(path);
  };
  p.system = read("system.txt");
  p.people = read("people.txt");
  p.facts = read("facts.txt");
  p.qa = read("qa.txt");
  p.probes = read("probes.txt");
  return p;
}

ChatRequest StageContext::make_request(const std::string& tag, const std::string& user,
                                       const json& schema, const std::string& schema_name,
                                       Validator validate, uint64_t index) const {
  ChatRequest r;
  r.tag = tag;
  r.messages = {{{"role", "system"}, {"content", prompts.system}},
                {{"role", "user"}, {"content", user}}};
  r.schema = schema;
  r.schema_name = schema_name;
  r.validate = std::move(validate);
  r.seed = static_cast<int64_t>((options.seed * 1000003ULL + index) & 0x7fffffffffffULL);
  return r;
}

std::vector<std::optional<json>> StageContext::run(const std::string& stage,
                                                   const std::vector<ChatRequest>& requests) {
  core::Progress progress("llm " + stage, static_cast<int64_t>(requests.size()));
  LlmStats before = client.stats();
  auto status = [&](const LlmStats& s) {
    return "ok " +
           std::to_string(s.completed - before.completed + s.cache_hits - before.cache_hits) +
           " (cached " + std::to_string(s.cache_hits - before.cache_hits) + ") dropped " +
           std::to_string(s.dropped - before.dropped) + " retried " +
           std::to_string(s.retried - before.retried) + " invalid " +
           std::to_string(s.invalid - before.invalid) + " tokens " +
           std::to_string(s.prompt_tokens + s.completion_tokens - before.prompt_tokens -
                          before.completion_tokens);
  };
  auto results = client.complete_all(
      requests, [&](int64_t done, const LlmStats& s) { progress.update(done, status(s)); });
  LlmStats after = client.stats();
  progress.finish(status(after));
  int64_t ok = 0;
  for (const auto& r : results) ok += r.has_value();
  report["stages"][stage] = {
      {"requests", requests.size()},
      {"valid", ok},
      {"cache_hits", after.cache_hits - before.cache_hits},
      {"dropped", after.dropped - before.dropped},
      {"retried", after.retried - before.retried},
      {"invalid_replies", after.invalid - before.invalid},
      {"http_requests", after.http_requests - before.http_requests},
      {"prompt_tokens", after.prompt_tokens - before.prompt_tokens},
      {"completion_tokens", after.completion_tokens - before.completion_tokens}};
  LETHE_CHECK(requests.empty() || ok > 0, "llm: model '", client.options().model,
              "' returned no valid reply for any of the ", requests.size(), " ", stage,
              " requests (last problem: ", after.last_drop_reason, ")");
  return results;
}

json string_schema() { return {{"type", "string"}, {"minLength", 1}}; }

json object_schema(const json& properties) {
  json required = json::array();
  for (auto it = properties.begin(); it != properties.end(); ++it) required.push_back(it.key());
  return {{"type", "object"},
          {"additionalProperties", false},
          {"required", required},
          {"properties", properties}};
}

json array_schema(const json& items, int min_items) {
  return {{"type", "array"}, {"items", items}, {"minItems", min_items}};
}

std::string first_word(const std::string& name) {
  std::string norm = normalize_text(name);
  return norm.substr(0, norm.find(' '));
}

size_t words(const std::string& s) {
  std::string n = normalize_text(s);
  return n.empty() ? 0 : 1 + std::count(n.begin(), n.end(), ' ');
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  size_t at = text.find(from);
  if (at == std::string::npos) {
    std::string lower = text, key = from;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    at = lower.find(key);
    if (at == std::string::npos) return text;
    return text.replace(at, from.size(), to);
  }
  for (; at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace lethe::datagen::llm
