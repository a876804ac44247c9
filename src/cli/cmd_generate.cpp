// `lethe generate MODEL --prompt TEXT | --prompt-ids IDS | --jsonl FILE [--chat] [sampling
// options]`: greedy or sampled continuations, batched with left padding and a KV cache.
#include <iostream>

#include "cli/cmd_model_common.h"
#include "cli/commands.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "model/generate.h"

namespace lethe::cli {

namespace {

using json = nlohmann::json;

struct GenerateCommandOptions {
  ModelOptions model;
  std::string prompt;
  std::string prompt_ids;
  std::string jsonl;
  std::string out;
  std::string system;
  bool chat = false;
  bool json_output = false;
  bool no_cache = false;
  int64_t max_new_tokens = 128;
  double temperature = 0.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  uint64_t seed = 0;
  int64_t batch_size = 8;
};

// A prompt to ids: ids as given, or text (rendered as a user turn with --chat) through the
// tokenizer.
std::vector<int64_t> prompt_to_ids(const model::Pretrained& p, const std::string& text,
                                   const std::string& system, bool chat) {
  const text::Tokenizer& tok = p.require_tokenizer("a text prompt");
  if (!chat) return tok.encode(text);
  std::vector<text::ChatMessage> messages;
  if (!system.empty()) messages.push_back({"system", system});
  messages.push_back({"user", text});
  return tok.encode_chat(messages, /*add_generation_prompt=*/true);
}

void run_generate(const GenerateCommandOptions& o) {
  const int sources = !o.prompt.empty() + !o.prompt_ids.empty() + !o.jsonl.empty();
  if (sources != 1)
    throw UsageError("generate: give exactly one of --prompt, --prompt-ids, --jsonl");
  model::Pretrained p = load_model(o.model);
  const int64_t vocab = p.model->config().vocab_size;

  std::vector<json> records;  // the input records (echoed fields)
  std::vector<std::vector<int64_t>> prompts;
  if (!o.prompt.empty()) {
    records.push_back({{"prompt", o.prompt}});
    prompts.push_back(prompt_to_ids(p, o.prompt, o.system, o.chat));
  } else if (!o.prompt_ids.empty()) {
    json record{{"prompt_ids", parse_id_list(o.prompt_ids, "--prompt-ids")}};
    prompts.push_back(record_ids(record, "prompt_ids", vocab, "--prompt-ids"));
    records.push_back(record);
  } else {
    core::for_each_jsonl(o.jsonl, [&](const json& record, size_t line) {
      const std::string where = o.jsonl + ":" + std::to_string(line);
      LETHE_CHECK(record.is_object(), where, ": a record must be a JSON object");
      std::vector<int64_t> ids;
      if (record.contains("prompt_ids")) {
        ids = record_ids(record, "prompt_ids", vocab, where);
      } else if (record.contains("ids")) {
        ids = record_ids(record, "ids", vocab, where);
      } else if (record.contains("prompt")) {
        std::string system = o.system;
        if (record.contains("system")) system = record_text(record, "system", where);
        ids = prompt_to_ids(p, record_text(record, "prompt", where), system, o.chat);
      } else {
        LETHE_FAIL(where, ": record needs 'prompt', 'prompt_ids' or 'ids'");
      }
      LETHE_CHECK(!ids.empty(), where, ": the prompt has no tokens");
      records.push_back(record);
      prompts.push_back(std::move(ids));
    });
    LETHE_CHECK(!prompts.empty(), o.jsonl, ": no records");
  }

  model::GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.do_sample = o.temperature > 0.0;
  g.temperature = g.do_sample ? o.temperature : 1.0;
  g.top_p = o.top_p;
  g.top_k = o.top_k;
  g.seed = o.seed;
  g.eos_token_ids = p.eos_token_ids;
  if (p.tokenizer && p.tokenizer->pad_id()) g.pad_token_id = *p.tokenizer->pad_id();
  g.use_cache = !o.no_cache;

  std::vector<json> results;
  std::optional<core::Progress>
      progress;  // batch input only: a single prompt prints just its answer
  if (!o.jsonl.empty()) progress.emplace("generate", static_cast<int64_t>(prompts.size()));
  for (size_t start = 0; start < prompts.size(); start += o.batch_size) {
    const size_t end = std::min(prompts.size(), start + static_cast<size_t>(o.batch_size));
    std::vector<std::vector<int64_t>> batch(prompts.begin() + start, prompts.begin() + end);
    g.seed = o.seed + start;  // each batch its own stream, reproducible for a given --batch-size
    model::GenerateResult out = model::generate(p.model, batch, g);
    for (size_t i = 0; i < batch.size(); ++i) {
      json r = records[start + i];
      r["index"] = start + i;
      r["prompt_ids"] = batch[i];
      r["new_ids"] = out.tokens[i];
      r["stop_reason"] = out.stop_reasons[i];
      if (p.tokenizer) r["completion"] = p.tokenizer->decode(out.tokens[i], /*skip_special=*/true);
      results.push_back(std::move(r));
    }
    if (progress) progress->update(static_cast<int64_t>(end));
  }
  if (progress) progress->finish();

  if (!o.prompt.empty() && !o.json_output && o.out.empty()) {
    std::cout << results[0]["completion"].get<std::string>() << std::endl;
    return;
  }
  if (!o.out.empty()) {
    core::write_jsonl(o.out, results);
  } else {
    for (const auto& r : results) std::cout << r.dump() << "\n";
    std::cout.flush();
  }
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateCommandOptions>();
  CLI::App* cmd =
      app.add_subcommand("generate", "generate continuations of prompts (greedy or sampled)");
  add_model_options(cmd, o->model);
  cmd->add_option("--prompt", o->prompt, "prompt text (needs the model's tokenizer)")
      ->capture_default_str();
  cmd->add_option("--prompt-ids", o->prompt_ids, "prompt as token ids, e.g. 1,2,3")
      ->capture_default_str();
  cmd->add_option(
         "--jsonl", o->jsonl,
         "batch input: records with 'prompt' (text) or 'prompt_ids'/'ids' (see docs/cli.md)")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "write JSONL results here instead of stdout")
      ->capture_default_str();
  cmd->add_flag("--chat", o->chat, "render text prompts as a user turn with the chat template");
  cmd->add_option("--system", o->system,
                  "system prompt with --chat (empty: the template's default)")
      ->capture_default_str();
  cmd->add_flag("--json", o->json_output, "print the JSON record for --prompt instead of the text");
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "tokens to generate at most per prompt")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "sampling temperature; 0 = greedy")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "nucleus sampling mass in (0, 1]")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "sample among the k most likely tokens; 0 = all")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "sampling seed")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "prompts per batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--no-cache", o->no_cache,
                "recompute the whole sequence each step (slow; for checks)");
  cmd->callback([o]() {
    apply_global_options();
    if (o->top_p <= 0.0) throw UsageError("--top-p must be in (0, 1]");
    run_generate(*o);
  });
}

}  // namespace lethe::cli
