// `lethe score MODEL --jsonl FILE`: per-example sum and mean NLL and per-token log-probs (JSONL),
// from token ids or text (prompt + completion: only the completion is scored).
#include <iostream>

#include "cli/cmd_model_common.h"
#include "cli/commands.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "model/sequence_scores.h"

namespace lethe::cli {

namespace {

using json = nlohmann::json;

struct ScoreCommandOptions {
  ModelOptions model;
  std::string jsonl;
  std::string out;
  std::string system;
  bool chat = false;
  int64_t batch_size = 16;
};

// One record -> the sequence, where scoring starts, and the ids to echo.
model::ScoreRequest parse_record(const model::Pretrained& p, const ScoreCommandOptions& o,
                                 const json& record, const std::string& where, json* echo) {
  LETHE_CHECK(record.is_object(), where, ": a record must be a JSON object");
  const int64_t vocab = p.model->config().vocab_size;
  model::ScoreRequest req;
  std::vector<int64_t> prompt, completion;
  if (record.contains("ids")) {
    req.ids = record_ids(record, "ids", vocab, where);
    LETHE_CHECK(req.ids.size() >= 2, where, ": 'ids' needs at least 2 tokens to score");
    (*echo)["ids"] = req.ids;
    return req;
  }
  if (record.contains("prompt_ids") || record.contains("completion_ids")) {
    LETHE_CHECK(record.contains("prompt_ids") && record.contains("completion_ids"), where,
                ": give both 'prompt_ids' and 'completion_ids'");
    prompt = record_ids(record, "prompt_ids", vocab, where);
    completion = record_ids(record, "completion_ids", vocab, where);
  } else if (record.contains("text")) {
    const auto& tok = p.require_tokenizer("text records");
    req.ids = tok.encode(record_text(record, "text", where));
    LETHE_CHECK(req.ids.size() >= 2, where, ": 'text' has fewer than 2 tokens");
    (*echo)["ids"] = req.ids;
    return req;
  } else if (record.contains("prompt") || record.contains("completion")) {
    LETHE_CHECK(record.contains("prompt") && record.contains("completion"), where,
                ": give both 'prompt' and 'completion'");
    const auto& tok = p.require_tokenizer("text records");
    const std::string prompt_text = record_text(record, "prompt", where);
    const std::string completion_text = record_text(record, "completion", where);
    if (o.chat) {
      std::vector<text::ChatMessage> messages;
      std::string system =
          record.contains("system") ? record_text(record, "system", where) : o.system;
      if (!system.empty()) messages.push_back({"system", system});
      messages.push_back({"user", prompt_text});
      prompt = tok.encode_chat(messages, /*add_generation_prompt=*/true);
      completion = tok.encode(completion_text + tok.chat_template().end_of_turn());
    } else {
      prompt = tok.encode(prompt_text);
      completion = tok.encode(completion_text);
    }
  } else {
    LETHE_FAIL(where,
               ": record needs 'ids', 'prompt_ids' + 'completion_ids', 'text', or 'prompt' + "
               "'completion'");
  }
  LETHE_CHECK(!prompt.empty(), where, ": the prompt has no tokens");
  LETHE_CHECK(!completion.empty(), where, ": the completion has no tokens");
  req.ids = prompt;
  req.ids.insert(req.ids.end(), completion.begin(), completion.end());
  req.score_from = static_cast<int64_t>(prompt.size());
  (*echo)["prompt_ids"] = prompt;
  (*echo)["completion_ids"] = completion;
  return req;
}

void run_score(const ScoreCommandOptions& o) {
  model::Pretrained p = load_model(o.model);
  const int64_t max_len = p.model->config().max_position_embeddings;
  std::vector<model::ScoreRequest> requests;
  std::vector<json> echoes;
  core::for_each_jsonl(o.jsonl, [&](const json& record, size_t line) {
    const std::string where = o.jsonl + ":" + std::to_string(line);
    json echo = json::object();
    if (record.is_object() && record.contains("id")) echo["id"] = record["id"];
    model::ScoreRequest req = parse_record(p, o, record, where, &echo);
    LETHE_CHECK(static_cast<int64_t>(req.ids.size()) <= max_len, where, ": ", req.ids.size(),
                " tokens exceed the model's max_position_embeddings (", max_len, ")");
    requests.push_back(std::move(req));
    echoes.push_back(std::move(echo));
  });
  LETHE_CHECK(!requests.empty(), o.jsonl, ": no records");

  core::Progress progress("score", static_cast<int64_t>(requests.size()));
  std::vector<std::vector<double>> logps;
  // Chunks so the progress bar moves; each chunk is batched by length inside score_sequences.
  const size_t chunk = static_cast<size_t>(o.batch_size) * 8;
  for (size_t start = 0; start < requests.size(); start += chunk) {
    const size_t end = std::min(requests.size(), start + chunk);
    std::vector<model::ScoreRequest> part(requests.begin() + start, requests.begin() + end);
    auto scores = model::score_sequences(p.model, part, o.batch_size);
    for (auto& s : scores) logps.push_back(std::move(s));
    progress.update(static_cast<int64_t>(end));
  }
  progress.finish();

  std::vector<json> results;
  for (size_t i = 0; i < requests.size(); ++i) {
    json r = echoes[i];
    r["index"] = i;
    double sum = 0.0;
    for (double v : logps[i]) sum += v;
    const size_t n = logps[i].size();
    r["num_scored"] = n;
    r["sum_nll"] = -sum;
    r["mean_nll"] = -sum / static_cast<double>(n);
    r["token_logprobs"] = logps[i];
    results.push_back(std::move(r));
  }
  if (!o.out.empty()) {
    core::write_jsonl(o.out, results);
  } else {
    for (const auto& r : results) std::cout << r.dump() << "\n";
    std::cout.flush();
  }
}

}  // namespace

void add_score_command(CLI::App& app) {
  auto o = std::make_shared<ScoreCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "score", "per-example NLL and per-token log-probs of sequences or completions (JSONL)");
  add_model_options(cmd, o->model);
  cmd->add_option(
         "--jsonl", o->jsonl,
         "records with 'ids', 'prompt_ids'+'completion_ids', 'text' or 'prompt'+'completion'")
      ->required();
  cmd->add_option("--out", o->out, "write JSONL results here instead of stdout")
      ->capture_default_str();
  cmd->add_flag("--chat", o->chat,
                "text prompts as a user turn with the chat template; completion + end-of-turn");
  cmd->add_option("--system", o->system,
                  "system prompt with --chat (empty: the template's default)")
      ->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "sequences per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([o]() {
    apply_global_options();
    run_score(*o);
  });
}

}  // namespace lethe::cli
