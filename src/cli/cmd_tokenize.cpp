// `lethe tokenize MODEL --text TEXT | --jsonl FILE [--decode] [--chat]`: token ids and pieces as
// JSON (one object for --text, JSONL for --jsonl). MODEL is a folder with tokenizer.json or an HF
// model id.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "io/model_path.h"
#include "text/tokenizer.h"

namespace lethe::cli {

namespace {

using json = nlohmann::json;

struct TokenizeOptions {
  std::string model;
  std::string text;
  std::string jsonl;
  std::string out;
  std::string system;
  bool decode = false;
  bool chat = false;
  bool no_special = false;
  bool skip_special = false;
  bool add_special_tokens = false;
};

json pieces_of(const text::Tokenizer& tok, const std::vector<int64_t>& ids) {
  json pieces = json::array();
  for (int64_t id : ids) pieces.push_back(tok.id_to_token(id));
  return pieces;
}

// "[1, 2, 3]" or "1,2,3" or "1 2 3".
std::vector<int64_t> parse_ids(const std::string& text) {
  std::string s = text;
  for (char& c : s)
    if (c == '[' || c == ']' || c == ',') c = ' ';
  std::istringstream in(s);
  std::vector<int64_t> ids;
  std::string word;
  while (in >> word) {
    size_t used = 0;
    int64_t id = -1;
    try {
      id = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size()) throw UsageError("--decode --text: '" + word + "' is not a token id");
    ids.push_back(id);
  }
  return ids;
}

std::vector<text::ChatMessage> messages_of(const json& record, const std::string& where) {
  const json& list = core::require_field(record, "messages", where);
  LETHE_CHECK(list.is_array(), where, ": field 'messages' must be a list");
  std::vector<text::ChatMessage> messages;
  for (const auto& m : list)
    messages.push_back(
        {core::require_string(m, "role", where), core::require_string(m, "content", where)});
  return messages;
}

// Encodes or decodes one record; `record` gains "ids"/"pieces" (encode) or "text" (decode).
void process(const text::Tokenizer& tok, const TokenizeOptions& o, json& record,
             const std::string& where) {
  text::EncodeOptions encode_options;
  encode_options.parse_special = !o.no_special;
  encode_options.add_special_tokens = o.add_special_tokens;
  if (o.decode || (record.contains("ids") && !record.contains("text"))) {
    const json& ids_json = core::require_field(record, "ids", where);
    LETHE_CHECK(ids_json.is_array(), where, ": field 'ids' must be a list of integers");
    std::vector<int64_t> ids;
    for (const auto& id : ids_json) {
      LETHE_CHECK(id.is_number_integer(), where, ": field 'ids' must be a list of integers");
      ids.push_back(id.get<int64_t>());
    }
    record["text"] = tok.decode(ids, o.skip_special);
    record["pieces"] = pieces_of(tok, ids);
    return;
  }
  std::string input;
  if (record.contains("messages")) {
    auto messages = messages_of(record, where);
    bool generation_prompt = messages.empty() || messages.back().role != "assistant";
    input = tok.chat_template().render(messages, generation_prompt);
    record["rendered"] = input;
  } else {
    input = core::require_string(record, "text", where);
    if (o.chat) {
      std::vector<text::ChatMessage> messages;
      if (!o.system.empty()) messages.push_back({"system", o.system});
      messages.push_back({"user", input});
      input = tok.chat_template().render(messages, true);
      record["rendered"] = input;
    }
  }
  auto ids = tok.encode(input, encode_options);
  record["ids"] = ids;
  record["pieces"] = pieces_of(tok, ids);
  record["num_tokens"] = ids.size();
}

void run(const TokenizeOptions& o) {
  apply_global_options();
  if (o.text.empty() == o.jsonl.empty() && !(o.text.empty() && o.jsonl.empty()))
    throw UsageError("give either --text or --jsonl, not both");
  if (o.text.empty() && o.jsonl.empty()) throw UsageError("give --text TEXT or --jsonl FILE");
  std::vector<int64_t> text_ids;  // parsed before the (slower) tokenizer load, to fail fast
  if (o.decode && !o.text.empty()) text_ids = parse_ids(o.text);
  auto dir = io::resolve_model_path(o.model);
  auto tok = text::Tokenizer::load(dir);

  std::string output;
  if (!o.jsonl.empty()) {
    core::for_each_jsonl(o.jsonl, [&](const json& in, size_t line) {
      std::string where = o.jsonl + ":" + std::to_string(line);
      LETHE_CHECK(in.is_object(), where, ": record must be a JSON object");
      json record = in;
      process(tok, o, record, where);
      output += record.dump() + "\n";
    });
  } else {
    json record;
    if (o.decode)
      record["ids"] = text_ids;
    else
      record["text"] = o.text;
    process(tok, o, record, "--text");
    output = record.dump() + "\n";
  }
  if (o.out.empty())
    std::fwrite(output.data(), 1, output.size(), stdout);
  else
    core::write_file_atomic(o.out, output);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand(
      "tokenize", "text -> token ids and pieces (or ids -> text with --decode), as JSON/JSONL");
  cmd->add_option("model", o->model,
                  "model or tokenizer folder (tokenizer.json + tokenizer_config.json), or an HF "
                  "model id in the local cache")
      ->required();
  cmd->add_option("--text", o->text,
                  "text to encode (with --decode: token ids such as \"[9707, 11]\" or \"9707,11\")")
      ->capture_default_str();
  cmd->add_option("--jsonl", o->jsonl,
                  "JSONL records {\"text\": ...}, {\"ids\": [...]} or {\"messages\": [...]}; each "
                  "is written back with ids/pieces (or text) added")
      ->capture_default_str();
  cmd->add_option("--out", o->out, "write the output here instead of stdout")
      ->capture_default_str();
  cmd->add_flag("--decode", o->decode, "decode token ids to text");
  cmd->add_flag("--chat", o->chat,
                "wrap the text as a user turn in the chat template, with the generation prompt");
  cmd->add_option("--system", o->system, "system prompt for --chat (empty: the template's default)")
      ->capture_default_str();
  cmd->add_flag("--no-special", o->no_special,
                "treat special-token text such as <|im_end|> in the input as plain text");
  cmd->add_flag("--skip-special", o->skip_special, "drop special tokens when decoding");
  cmd->add_flag("--add-special-tokens", o->add_special_tokens,
                "add the tokenizer's post-processor tokens (e.g. Llama-3's BOS; none for Qwen)");
  cmd->callback([o] { run(*o); });
}

}  // namespace lethe::cli
