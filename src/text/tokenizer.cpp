// Loading tokenizer.json / tokenizer_config.json and the encode/decode pipeline:
// added tokens (raw text) -> normalizer -> added tokens (normalized text) -> Split regexes -> BPE.
#include "text/tokenizer.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "text/byte_level.h"

namespace lethe::text {

using json = nlohmann::json;

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// A byte that belongs to a word for single_word added tokens: ASCII alphanumerics, '_' and any
// non-ASCII byte (letters of other scripts).
bool is_word_byte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

std::string escape_regex_literal(const std::string& text) { return "\\Q" + text + "\\E"; }

// tokenizer_config.json gives special tokens as a string or as {"content": ...}.
std::optional<std::string> config_token(const json& config, const char* key,
                                        const std::string& where) {
  if (!config.is_object() || !config.contains(key) || config[key].is_null()) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  LETHE_FAIL(where, ": field '", key, "' must be a string or an object with \"content\"");
}

// One entry of model.merges: "a b" (tokenizers < 0.20) or ["a", "b"].
std::pair<std::string, std::string> parse_merge(const json& m, size_t index,
                                                const std::string& where) {
  if (m.is_string()) {
    const std::string& s = m.get_ref<const std::string&>();
    size_t space = s.find(' ');
    LETHE_CHECK(space != std::string::npos && s.find(' ', space + 1) == std::string::npos, where,
                ": merge ", index, " '", s, "' must be two tokens separated by one space");
    return {s.substr(0, space), s.substr(space + 1)};
  }
  LETHE_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), where,
              ": merge ", index, " must be \"a b\" or [\"a\", \"b\"]");
  return {m[0].get<std::string>(), m[1].get<std::string>()};
}

bool get_bool(const json& object, const char* key, bool fallback) {
  if (!object.contains(key) || object[key].is_null()) return fallback;
  return object[key].get<bool>();
}

}  // namespace

Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  LETHE_CHECK(fs::exists(path), path.string(), ": no such file or folder");
  fs::path tokenizer_file = path, folder = path.parent_path();
  if (fs::is_directory(path)) {
    tokenizer_file = path / "tokenizer.json";
    folder = path;
    LETHE_CHECK(fs::is_regular_file(tokenizer_file), tokenizer_file.string(),
                ": missing (lethe needs a Hugging Face tokenizer.json; vocab.json/merges.txt or "
                "SentencePiece files alone are not supported)");
  }
  // The vocab and merges (300k entries) go straight into their tables during parsing instead of
  // into a JSON tree: this halves the load time of Qwen's 7 MB file.
  ModelTables tables;
  std::vector<std::string> keys(8);
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth >= static_cast<int>(keys.size())) return true;
    const bool in_model = depth == 3 && keys[1] == "model";
    if (event == json::parse_event_t::key) {
      keys[depth] = parsed.get<std::string>();
      return !(in_model && keys[2] == "vocab");  // false: the entry never enters the JSON tree
    }
    if (!in_model) return true;
    if (keys[2] == "vocab") {
      LETHE_CHECK(event == json::parse_event_t::value && parsed.is_number_integer(),
                  tokenizer_file.string(), ": model.vocab['", keys[3], "'] must be an integer");
      tables.vocab.emplace(std::move(keys[3]), parsed.get<int32_t>());
      return false;
    }
    if (keys[2] == "merges" &&
        (event == json::parse_event_t::value || event == json::parse_event_t::array_end)) {
      tables.merges.push_back(parse_merge(parsed, tables.merges.size(), tokenizer_file.string()));
      return false;
    }
    return true;
  };
  json tokenizer_json;
  try {
    tokenizer_json = json::parse(core::read_file(tokenizer_file), on_event);
  } catch (const json::exception& e) {
    LETHE_FAIL(tokenizer_file.string(), ": invalid JSON: ", e.what());
  }
  tables.streamed = true;
  json config;
  fs::path config_file = folder / "tokenizer_config.json";
  if (fs::is_regular_file(config_file)) config = core::read_json(config_file);
  // Newer transformers write the template to its own file.
  fs::path jinja_file = folder / "chat_template.jinja";
  if (fs::is_regular_file(jinja_file) && config.is_object() && !config.contains("chat_template"))
    config["chat_template"] = core::read_file(jinja_file);
  if (config.is_null()) config = json::object();
  auto tokenizer = from_parts(tokenizer_json, std::move(tables), config, tokenizer_file.string());
  tokenizer.where_ = tokenizer_file.string();
  return tokenizer;
}

Tokenizer Tokenizer::from_json(const json& tj, const json& config, const std::string& where) {
  return from_parts(tj, ModelTables(), config, where);
}

Tokenizer Tokenizer::from_parts(const json& tj, ModelTables tables, const json& config,
                                const std::string& where) {
  LETHE_CHECK(tj.is_object(), where, ": must be a JSON object");
  Tokenizer t;
  t.where_ = where;

  // Model: byte-level BPE only.
  LETHE_CHECK(tj.contains("model") && tj["model"].is_object(), where,
              ": missing the \"model\" object");
  const json& model = tj["model"];
  std::string type = model.value("type", model.contains("merges") ? "BPE" : "");
  LETHE_CHECK(type == "BPE", where, ": unsupported model type '", type,
              "' (lethe supports byte-level BPE tokenizers such as Qwen2's)");
  LETHE_CHECK(!get_bool(model, "byte_fallback", false), where,
              ": BPE with byte_fallback (SentencePiece-style, e.g. Llama-2) is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    LETHE_CHECK(!model.contains(key) || model[key].is_null() || model[key] == "", where,
                ": BPE model field '", key, "' is not supported");
  }
  if (!tables.streamed) {
    // (`load` streamed them out already and left empty containers.)
    LETHE_CHECK(model.contains("vocab") && model["vocab"].is_object(), where,
                ": model.vocab must be an object of token -> id");
    LETHE_CHECK(model.contains("merges") && model["merges"].is_array(), where,
                ": model.merges must be a list");
    tables.vocab.reserve(model["vocab"].size() * 2);
    for (const auto& [token, id] : model["vocab"].items()) {
      LETHE_CHECK(id.is_number_integer(), where, ": model.vocab['", token, "'] must be an integer");
      tables.vocab.emplace(token, id.get<int32_t>());
    }
    tables.merges.reserve(model["merges"].size());
    for (const auto& m : model["merges"])
      tables.merges.push_back(parse_merge(m, tables.merges.size(), where));
  }
  LETHE_CHECK(!tables.vocab.empty(), where, ": model.vocab is missing or empty");
  t.bpe_ = std::make_unique<BpeModel>(std::move(tables.vocab), tables.merges,
                                      get_bool(model, "ignore_merges", false), where);

  // Normalizer.
  t.normalizer_ = Normalizer::from_json(tj.value("normalizer", json()), where);

  // Pre-tokenizer: Split regexes and exactly one ByteLevel step.
  std::vector<json> steps;
  const json pre = tj.value("pre_tokenizer", json());
  if (pre.is_object() && pre.value("type", "") == "Sequence") {
    LETHE_CHECK(pre.contains("pretokenizers") && pre["pretokenizers"].is_array(), where,
                ": pre_tokenizer Sequence lacks a \"pretokenizers\" list");
    for (const auto& step : pre["pretokenizers"]) steps.push_back(step);
  } else if (!pre.is_null()) {
    steps.push_back(pre);
  }
  bool byte_level = false;
  for (const auto& step : steps) {
    LETHE_CHECK(step.is_object() && step.contains("type"), where,
                ": a pre_tokenizer step lacks \"type\"");
    const std::string step_type = step["type"];
    if (step_type == "Split") {
      LETHE_CHECK(step.value("behavior", "") == "Isolated" && !get_bool(step, "invert", false),
                  where, ": Split pre_tokenizer with behavior '", step.value("behavior", ""),
                  "' is not supported (only \"Isolated\", invert false)");
      const json& pattern = step.value("pattern", json());
      std::string regex;
      if (pattern.contains("Regex")) {
        regex = pattern["Regex"].get<std::string>();
      } else if (pattern.contains("String")) {
        regex = escape_regex_literal(pattern["String"].get<std::string>());
      } else {
        LETHE_FAIL(where,
                   ": Split pre_tokenizer needs a pattern {\"Regex\": ...} or {\"String\": ...}");
      }
      t.splits_.push_back(std::make_unique<SplitPreTokenizer>(regex, where));
    } else if (step_type == "ByteLevel") {
      byte_level = true;
      t.add_prefix_space_ = get_bool(step, "add_prefix_space", false);
      if (get_bool(step, "use_regex", true))
        t.splits_.push_back(std::make_unique<SplitPreTokenizer>(kGpt2SplitPattern, where));
    } else {
      LETHE_FAIL(where, ": unsupported pre_tokenizer type '", step_type,
                 "' (supported: Split, ByteLevel, Sequence of these)");
    }
  }
  LETHE_CHECK(byte_level, where,
              ": pre_tokenizer has no ByteLevel step (only byte-level BPE is supported)");

  // Decoder: ByteLevel (alone or in a Sequence of ByteLevel steps).
  const json decoder = tj.value("decoder", json());
  bool decoder_ok = decoder.is_object() && decoder.value("type", "") == "ByteLevel";
  if (decoder.is_object() && decoder.value("type", "") == "Sequence" &&
      decoder.contains("decoders")) {
    decoder_ok = !decoder["decoders"].empty();
    for (const auto& d : decoder["decoders"]) decoder_ok &= d.value("type", "") == "ByteLevel";
  }
  LETHE_CHECK(decoder_ok, where, ": unsupported decoder ",
              decoder.is_object() ? "'" + decoder.value("type", "?") + "'" : std::string("(none)"),
              " (only ByteLevel is supported)");

  // Added tokens.
  if (tj.contains("added_tokens") && !tj["added_tokens"].is_null()) {
    LETHE_CHECK(tj["added_tokens"].is_array(), where, ": added_tokens must be a list");
    for (const auto& a : tj["added_tokens"]) {
      LETHE_CHECK(a.is_object() && a.contains("id") && a["id"].is_number_integer() &&
                      a.contains("content") && a["content"].is_string(),
                  where,
                  ": each added_tokens entry needs an integer \"id\" and a string \"content\"");
      AddedToken token;
      token.id = a["id"].get<int64_t>();
      token.content = a["content"].get<std::string>();
      LETHE_CHECK(token.id >= 0 && !token.content.empty(), where, ": added token '", token.content,
                  "' has an invalid id or empty content");
      token.special = get_bool(a, "special", false);
      token.normalized = get_bool(a, "normalized", !token.special);
      token.lstrip = get_bool(a, "lstrip", false);
      token.rstrip = get_bool(a, "rstrip", false);
      token.single_word = get_bool(a, "single_word", false);
      int32_t vocab_id = t.bpe_->token_to_id(token.content);
      LETHE_CHECK(vocab_id < 0 || vocab_id == token.id, where, ": added token '", token.content,
                  "' has id ", token.id, " but the vocab gives it ", vocab_id);
      t.added_.push_back(token);
    }
  }
  std::stable_sort(t.added_.begin(), t.added_.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.content.size() > b.content.size();
  });
  t.vocab_size_ = t.bpe_->size();
  for (size_t i = 0; i < t.added_.size(); ++i) {
    const auto& a = t.added_[i];
    t.added_ids_[a.content] = a.id;
    t.added_index_[a.id] = i;
    t.added_first_byte_[static_cast<unsigned char>(a.content[0])] = true;
    t.vocab_size_ = std::max(t.vocab_size_, a.id + 1);
  }

  // Post-processor: ByteLevel adds nothing; TemplateProcessing's "single" adds fixed tokens.
  std::vector<json> posts;
  const json post = tj.value("post_processor", json());
  if (post.is_object() && post.value("type", "") == "Sequence" && post.contains("processors")) {
    for (const auto& p : post["processors"]) posts.push_back(p);
  } else if (!post.is_null()) {
    posts.push_back(post);
  }
  for (const auto& p : posts) {
    const std::string post_type = p.value("type", "");
    if (post_type == "ByteLevel") continue;
    LETHE_CHECK(post_type == "TemplateProcessing" && p.contains("single"), where,
                ": unsupported post_processor '", post_type,
                "' (supported: ByteLevel, TemplateProcessing)");
    bool before = true;
    for (const auto& piece : p["single"]) {
      if (piece.contains("Sequence")) {
        before = false;
      } else if (piece.contains("SpecialToken")) {
        std::string name = piece["SpecialToken"].value("id", "");
        int64_t id = t.token_to_id(name);
        LETHE_CHECK(id >= 0, where, ": post_processor token '", name, "' is not in the vocab");
        (before ? t.prefix_ids_ : t.suffix_ids_).push_back(id);
      }
    }
  }

  // tokenizer_config.json: special tokens and the chat template.
  const std::string config_where =
      std::filesystem::path(where).parent_path().empty()
          ? std::string("tokenizer_config.json")
          : (std::filesystem::path(where).parent_path() / "tokenizer_config.json").string();
  auto resolve = [&](const char* key) -> std::optional<int64_t> {
    auto token = config_token(config, key, config_where);
    if (!token) return std::nullopt;
    int64_t id = t.token_to_id(*token);
    LETHE_CHECK(id >= 0, config_where, ": ", key, " '", *token, "' is not a token of ", where);
    return id;
  };
  t.eos_id_ = resolve("eos_token");
  t.pad_id_ = resolve("pad_token");
  t.bos_id_ = resolve("bos_token");
  if (config.is_object() && config.contains("chat_template") &&
      !config["chat_template"].is_null()) {
    const json& ct = config["chat_template"];
    std::string jinja;
    if (ct.is_string()) {
      jinja = ct.get<std::string>();
    } else if (ct.is_array()) {
      // [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
      for (const auto& entry : ct)
        if (entry.value("name", "") == "default") jinja = entry.value("template", "");
    }
    LETHE_CHECK(!jinja.empty(), config_where,
                ": chat_template must be a string or a list holding a \"default\" template");
    // An unsupported template does not stop plain tokenization: the error is raised on use.
    try {
      t.chat_template_ = ChatTemplate::from_jinja(jinja, config_where);
    } catch (const Error& e) {
      t.chat_template_error_ = e.what();
    }
  }
  return t;
}

std::optional<int64_t> Tokenizer::optional_id(const std::string& token) const {
  int64_t id = token_to_id(token);
  return id >= 0 ? std::optional<int64_t>(id) : std::nullopt;
}

int64_t Tokenizer::token_to_id(const std::string& token) const {
  auto it = added_ids_.find(token);
  if (it != added_ids_.end()) return it->second;
  return bpe_->token_to_id(token);
}

std::string Tokenizer::id_to_token(int64_t id) const {
  auto it = added_index_.find(id);
  if (it != added_index_.end()) return added_[it->second].content;
  const std::string& token = id < INT32_MAX ? bpe_->id_to_token(static_cast<int32_t>(id)) : "";
  LETHE_CHECK(!token.empty(), "token id ", id, " is not in the vocabulary of ", where_,
              " (vocab size ", vocab_size_, ")");
  return token;
}

bool Tokenizer::is_special(int64_t id) const {
  auto it = added_index_.find(id);
  return it != added_index_.end() && added_[it->second].special;
}

const ChatTemplate& Tokenizer::chat_template() const {
  if (!chat_template_error_.empty()) throw Error(chat_template_error_);
  LETHE_CHECK(chat_template_.has_value(), where_,
              ": no chat_template (tokenizer_config.json has none)");
  return *chat_template_;
}

template <typename OnText>
void Tokenizer::split_added(std::string_view text, bool normalized, bool parse_special,
                            std::vector<int64_t>* ids, OnText on_text) const {
  size_t start = 0;
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    if (!added_first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    const AddedToken* match = nullptr;
    for (const auto& a : added_) {  // longest first
      if (a.normalized != normalized || (a.special && !parse_special)) continue;
      if (text.compare(i, a.content.size(), a.content) != 0) continue;
      if (a.single_word) {
        size_t end = i + a.content.size();
        bool word_before = i > 0 && is_word_byte(static_cast<unsigned char>(text[i - 1]));
        bool word_after = end < n && is_word_byte(static_cast<unsigned char>(text[end]));
        if (word_before || word_after) continue;
      }
      match = &a;
      break;
    }
    if (!match) {
      ++i;
      continue;
    }
    size_t match_start = i, match_end = i + match->content.size();
    if (match->lstrip)
      while (match_start > start && is_ascii_space(text[match_start - 1])) --match_start;
    if (match->rstrip)
      while (match_end < n && is_ascii_space(text[match_end])) ++match_end;
    if (match_start > start) on_text(text.substr(start, match_start - start));
    ids->push_back(match->id);
    start = i = match_end;
  }
  if (start < n) on_text(text.substr(start));
}

void Tokenizer::encode_text(std::string_view text, std::vector<int64_t>* ids) const {
  std::string prefixed;
  if (add_prefix_space_ && !text.empty() && text[0] != ' ') {
    prefixed = " " + std::string(text);
    text = prefixed;
  }
  std::vector<std::string_view> pieces{text}, next;
  for (const auto& split : splits_) {
    next.clear();
    for (auto piece : pieces) split->split(piece, &next);
    pieces.swap(next);
  }
  std::vector<int32_t> piece_ids;
  for (auto piece : pieces) {
    piece_ids.clear();
    bpe_->encode_piece(piece, &piece_ids);
    ids->insert(ids->end(), piece_ids.begin(), piece_ids.end());
  }
}

void Tokenizer::encode_normalized(std::string_view text, bool parse_special,
                                  std::vector<int64_t>* ids) const {
  std::string normalized = normalizer_.apply(text);
  split_added(normalized, true, parse_special, ids,
              [&](std::string_view stretch) { encode_text(stretch, ids); });
}

std::vector<int64_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  size_t bad = find_invalid_utf8(text);
  LETHE_CHECK(bad == std::string_view::npos, "text is not valid UTF-8 (byte ", bad, " of ",
              text.size(), ")");
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (options.add_special_tokens) ids = prefix_ids_;
  split_added(text, false, options.parse_special, &ids, [&](std::string_view stretch) {
    encode_normalized(stretch, options.parse_special, &ids);
  });
  if (options.add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::string bytes;
  bytes.reserve(ids.size() * 4);
  for (int64_t id : ids) {
    auto it = added_index_.find(id);
    if (it != added_index_.end()) {
      if (!(skip_special && added_[it->second].special)) bytes += added_[it->second].content;
      continue;
    }
    LETHE_CHECK(
        id >= 0 && id < bpe_->size() && !bpe_->id_to_token(static_cast<int32_t>(id)).empty(),
        "token id ", id, " is not in the vocabulary of ", where_, " (vocab size ", vocab_size_,
        ")");
    bytes += bpe_->id_to_bytes(static_cast<int32_t>(id));
  }
  return sanitize_utf8(bytes);
}

std::vector<int64_t> Tokenizer::encode_chat(const std::vector<ChatMessage>& messages,
                                            bool add_generation_prompt) const {
  return encode(chat_template().render(messages, add_generation_prompt));
}

QaIds Tokenizer::encode_qa(const std::string& question, const std::string& answer,
                           const std::optional<std::string>& system) const {
  const ChatTemplate& chat = chat_template();
  std::vector<ChatMessage> messages;
  if (system) messages.push_back({"system", *system});
  messages.push_back({"user", question});
  QaIds qa;
  qa.prompt_ids = encode(chat.render(messages, true));
  qa.answer_ids = encode(answer);
  int64_t end_id = token_to_id(chat.end_of_turn());
  LETHE_CHECK(end_id >= 0, where_, ": the chat template's end-of-turn token '", chat.end_of_turn(),
              "' is not in the vocabulary");
  qa.answer_ids.push_back(end_id);
  return qa;
}

}  // namespace lethe::text
