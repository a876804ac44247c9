// The Qwen2.5 tokenizer against the Hugging Face reference ids (../shared/fixtures/qwen-tokenizer),
// decode round trips, the chat template, and errors for bad tokenizer files.
#include "text/tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "expect_close.h"
#include "text/byte_level.h"
#include "text/normalizer.h"
#include "text/pre_tokenizer.h"

namespace lethe {

namespace {

std::string qwen_dir() { return test::fixture_path("qwen-tokenizer"); }

struct TokenizerCase {
  std::string text;
  std::vector<int64_t> ids;
};

std::vector<TokenizerCase> load_cases() {
  std::vector<TokenizerCase> cases;
  for (const auto& record : core::read_jsonl(qwen_dir() + "/cases.jsonl"))
    cases.push_back({record["text"].get<std::string>(), record["ids"].get<std::vector<int64_t>>()});
  return cases;
}

// Expects `fn` to throw lethe::Error whose message contains every fragment.
template <typename Fn>
void expect_error(Fn fn, const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no lethe::Error thrown";
  } catch (const Error& e) {
    std::string message = e.what();
    for (const auto& f : fragments)
      EXPECT_NE(message.find(f), std::string::npos) << "'" << f << "' not in: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "multi-line error: " << message;
  }
}

}  // namespace

class QwenTokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto start = std::chrono::steady_clock::now();
    tokenizer_ = new text::Tokenizer(text::Tokenizer::load(qwen_dir()));
    load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  static text::Tokenizer* tokenizer_;
  static double load_seconds_;
};
text::Tokenizer* QwenTokenizer::tokenizer_ = nullptr;
double QwenTokenizer::load_seconds_ = 0;

TEST_F(QwenTokenizer, LoadsVocabAndSpecialTokens) {
  const auto& tok = *tokenizer_;
  std::printf("  tokenizer.json loaded in %.3f s\n", load_seconds_);
  EXPECT_EQ(tok.base_vocab_size(), 151643);
  EXPECT_EQ(tok.vocab_size(), 151665);
  EXPECT_EQ(tok.bpe().num_merges(), 151387u);
  EXPECT_EQ(tok.added_tokens().size(), 22u);
  EXPECT_EQ(tok.eos_id(), 151645);
  EXPECT_EQ(tok.pad_id(), 151643);
  EXPECT_FALSE(tok.bos_id().has_value());
  EXPECT_EQ(tok.im_start_id(), 151644);
  EXPECT_EQ(tok.im_end_id(), 151645);
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 151643);
  EXPECT_EQ(tok.token_to_id("<|file_sep|>"), 151664);
  EXPECT_EQ(tok.token_to_id("Ġworld"), 1879);
  EXPECT_EQ(tok.token_to_id("no such token"), -1);
  EXPECT_EQ(tok.id_to_token(1879), "Ġworld");
  EXPECT_EQ(tok.id_to_token(151645), "<|im_end|>");
  EXPECT_TRUE(tok.is_special(151645));
  EXPECT_FALSE(tok.is_special(151657));  // <tool_call> is added but not special
  EXPECT_FALSE(tok.is_special(1879));
  EXPECT_THROW(tok.id_to_token(151665), Error);
  EXPECT_THROW(tok.id_to_token(-1), Error);
}

TEST_F(QwenTokenizer, EveryReferenceCaseGivesTheReferenceIds) {
  auto cases = load_cases();
  ASSERT_EQ(cases.size(), 40u);
  for (const auto& c : cases) EXPECT_EQ(tokenizer_->encode(c.text), c.ids) << "text: " << c.text;
}

TEST_F(QwenTokenizer, ReferenceIdsWithoutCacheAndWithWarmCache) {
  // The first pass above may have filled the cache; encoding twice more must not change anything.
  tokenizer_->bpe().clear_cache();
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& c : load_cases()) EXPECT_EQ(tokenizer_->encode(c.text), c.ids) << c.text;
}

TEST_F(QwenTokenizer, DecodeRoundTripsToNfcText) {
  for (const auto& c : load_cases()) {
    EXPECT_EQ(tokenizer_->decode(c.ids), text::nfc(c.text)) << "ids of: " << c.text;
    EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(c.text)), text::nfc(c.text));
  }
}

TEST_F(QwenTokenizer, NormalizesToNfcBeforeBpe) {
  // "é" decomposed (e + U+0301) encodes like the precomposed "é".
  std::string decomposed = "caf\x65\xCC\x81";
  std::string composed = "caf\xC3\xA9";
  EXPECT_NE(decomposed, composed);
  EXPECT_EQ(text::nfc(decomposed), composed);
  EXPECT_EQ(tokenizer_->encode(decomposed), tokenizer_->encode(composed));
  EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(decomposed)), composed);
}

TEST_F(QwenTokenizer, LongPiecesUseTheHeapPathWithTheSameResult) {
  // 40 'a' is one reference case (heap path); prefixes of it cross the short/long threshold.
  std::vector<int64_t> want(5, 69440);
  EXPECT_EQ(tokenizer_->encode(std::string(40, 'a')), want);
  for (size_t n = 1; n <= 64; ++n) {
    std::string text(n, 'a');
    EXPECT_EQ(tokenizer_->decode(tokenizer_->encode(text)), text);
    std::vector<int32_t> cached, uncached;
    tokenizer_->bpe().encode_piece(text, &cached);
    tokenizer_->bpe().encode_piece_uncached(text, &uncached);
    EXPECT_EQ(cached, uncached);
  }
  // Whitespace runs longer than the threshold: `\s+(?!\S)` leaves the last space for the word.
  std::string spaces = std::string(30, ' ') + "x";
  auto ids = tokenizer_->encode(spaces);
  EXPECT_EQ(tokenizer_->decode(ids), spaces);
  EXPECT_EQ(tokenizer_->id_to_token(ids.back()), "Ġx");
}

TEST_F(QwenTokenizer, SpecialTokensCanBeTreatedAsText) {
  text::EncodeOptions plain;
  plain.parse_special = false;
  auto ids = tokenizer_->encode("<|im_end|>", plain);
  EXPECT_GT(ids.size(), 1u);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151645), 0);
  EXPECT_EQ(tokenizer_->decode(ids), "<|im_end|>");
  // Non-special added tokens (<tool_call>) are still matched, as HF does with split_special_tokens.
  EXPECT_EQ(tokenizer_->encode("<tool_call>", plain), std::vector<int64_t>{151657});
  EXPECT_EQ(tokenizer_->encode("<|im_end|>"), std::vector<int64_t>{151645});
}

TEST_F(QwenTokenizer, DecodeSkipsSpecialTokensOnRequestAndReplacesBrokenUtf8) {
  auto ids = tokenizer_->encode("<|im_start|>user\nHi<|im_end|>");
  EXPECT_EQ(tokenizer_->decode(ids, /*skip_special=*/true), "user\nHi");
  // "😀" is several byte tokens; its first token alone is an incomplete UTF-8 sequence.
  auto emoji = tokenizer_->encode("\xF0\x9F\x98\x80");
  ASSERT_GE(emoji.size(), 1u);
  std::string partial = tokenizer_->decode({emoji[0]});
  if (emoji.size() > 1) EXPECT_EQ(partial, "\xEF\xBF\xBD");
  EXPECT_THROW(tokenizer_->decode({151665}), Error);
  EXPECT_THROW(tokenizer_->decode({-3}), Error);
}

TEST_F(QwenTokenizer, InvalidUtf8InputIsAnError) {
  expect_error([&] { tokenizer_->encode("abc\xFF"); }, {"not valid UTF-8", "byte 3"});
  expect_error([&] { tokenizer_->encode("\xC3"); }, {"not valid UTF-8"});
}

TEST_F(QwenTokenizer, ChatTemplateCaseRendersReferenceTextAndIds) {
  auto ref = core::read_json(qwen_dir() + "/chat_template_case.json")["case"];
  std::vector<text::ChatMessage> messages;
  for (const auto& m : ref["messages"]) messages.push_back({m["role"], m["content"]});
  const auto& chat = tokenizer_->chat_template();
  EXPECT_EQ(chat.render(messages, ref["add_generation_prompt"].get<bool>()),
            ref["rendered"].get<std::string>());
  EXPECT_EQ(tokenizer_->encode_chat(messages, true), ref["ids"].get<std::vector<int64_t>>());
}

TEST_F(QwenTokenizer, ChatTemplateInsertsQwenDefaultSystemPrompt) {
  const auto& chat = tokenizer_->chat_template();
  ASSERT_TRUE(chat.default_system().has_value());
  EXPECT_EQ(*chat.default_system(),
            "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  EXPECT_EQ(chat.render({{"user", "Hi"}, {"assistant", "Hello."}}, false),
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello."
            "<|im_end|>\n");
  auto custom = text::ChatTemplate::chatml(std::string("Be brief."));
  EXPECT_EQ(custom.render({{"user", "Q"}}, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(text::ChatTemplate::chatml(std::nullopt).render({{"user", "Q"}}, false),
            "<|im_start|>user\nQ<|im_end|>\n");
  expect_error([&] { chat.render({{"tool", "x"}}, false); }, {"unsupported role 'tool'"});
}

TEST_F(QwenTokenizer, QaPairSplitsPromptAndAnswerForLossMasking) {
  auto qa = tokenizer_->encode_qa("Who wrote Hamlet?", "William Shakespeare.");
  auto prompt_text = tokenizer_->decode(qa.prompt_ids);
  EXPECT_EQ(prompt_text, tokenizer_->chat_template().render({{"user", "Who wrote Hamlet?"}}, true));
  EXPECT_EQ(prompt_text.substr(prompt_text.size() - 22), "<|im_start|>assistant\n");
  EXPECT_EQ(qa.answer_ids.back(), 151645);
  EXPECT_EQ(tokenizer_->decode(qa.answer_ids), "William Shakespeare.<|im_end|>");
  // Prompt + answer are the ids of the whole rendered conversation minus the final newline.
  auto full = tokenizer_->encode_chat(
      {{"user", "Who wrote Hamlet?"}, {"assistant", "William Shakespeare."}}, false);
  std::vector<int64_t> joined = qa.prompt_ids;
  joined.insert(joined.end(), qa.answer_ids.begin(), qa.answer_ids.end());
  joined.push_back(198);  // "\n"
  EXPECT_EQ(joined, full);
  auto with_system = tokenizer_->encode_qa("Q?", "A.", std::string("Sys."));
  EXPECT_EQ(tokenizer_->decode(with_system.prompt_ids),
            "<|im_start|>system\nSys.<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(SplitPreTokenizer, QwenPatternMatchesPythonRegexWhiteSpace) {
  // Expected pieces: regex.findall(pattern, text) with Python's `regex` module (what the slow
  // Qwen2Tokenizer runs). `\s` is Unicode White_Space: U+2028 and U+3000 are spaces; U+180E (a
  // format character since Unicode 6.3, still `\h` in PCRE2) and U+001C are not.
  text::SplitPreTokenizer split(text::kQwen2SplitPattern, "test");
  auto pieces = [&](const std::string& t) {
    std::vector<std::string_view> views;
    split.split(t, &views);
    return std::vector<std::string>(views.begin(), views.end());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces(" \xE1\xA0\x8E'd"), (V{" \xE1\xA0\x8E'", "d"}));
  EXPECT_EQ(pieces("a\xE2\x80\xA8 b\x1C\x1C c"), (V{"a", "\xE2\x80\xA8", " b", "\x1C\x1C", " c"}));
  EXPECT_EQ(pieces("x  \xE3\x80\x80y\n\n z  "),
            (V{"x", "  ", "\xE3\x80\x80y", "\n\n", " z", "  "}));
  EXPECT_EQ(pieces("It'S 12 \xC2\xA0ok"), (V{"It", "'S", " ", "1", "2", " ", "\xC2\xA0ok"}));
}

TEST(ByteLevel, MapsEveryByteAndBack) {
  EXPECT_EQ(text::bytes_to_byte_level(" a\n"),
            "\xC4\xA0"
            "a\xC4\x8A");  // "ĠaĊ"
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string back;
  ASSERT_TRUE(text::byte_level_to_bytes(text::bytes_to_byte_level(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(text::byte_level_to_bytes("\xE4\xBD\xA0", &back));  // "你" is not a byte char
  EXPECT_EQ(text::sanitize_utf8("a\xF0\x9F"
                                "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(text::find_invalid_utf8("ok \xC3\xA9"), std::string_view::npos);
  EXPECT_EQ(text::find_invalid_utf8("\xED\xA0\x80"), 0u);  // a UTF-16 surrogate
}

TEST(TokenizerErrors, MissingFileNamesIt) {
  auto dir = test::make_temp_dir("tok_missing");
  expect_error([&] { text::Tokenizer::load(dir); }, {dir, "tokenizer.json", "missing"});
  expect_error([&] { text::Tokenizer::load(dir + "/nope"); }, {"nope", "no such file"});
  std::filesystem::remove_all(dir);
}

TEST(TokenizerErrors, InvalidJsonNamesTheFile) {
  auto dir = test::make_temp_dir("tok_badjson");
  core::write_file_atomic(dir + "/tokenizer.json", "{\"model\": {\"type\": \"BPE\",");
  expect_error([&] { text::Tokenizer::load(dir); }, {"tokenizer.json", "invalid JSON"});
  std::filesystem::remove_all(dir);
}

namespace {
// A minimal valid byte-level BPE tokenizer.json: the 256 byte tokens, one merge ("a b" -> "ab").
nlohmann::json tiny_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  const auto& bytes = text::byte_to_utf8();
  for (int b = 0; b < 256; ++b) vocab[bytes[b]] = b;
  vocab["ab"] = 256;
  return {
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", nlohmann::json::array({nlohmann::json::array({"a", "b"})})}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens", nlohmann::json::array()}};
}
}  // namespace

TEST(TokenizerErrors, UnsupportedPartsAreNamed) {
  auto good = tiny_tokenizer_json();
  auto tok = text::Tokenizer::from_json(good, nlohmann::json::object(), "tiny.json");
  // GPT-2 regex pieces "abc", " ab"; byte b has id b here.
  EXPECT_EQ(tok.encode("abc ab"), (std::vector<int64_t>{256, 'c', ' ', 256}));
  EXPECT_EQ(tok.decode(tok.encode("abc ab")), "abc ab");
  EXPECT_FALSE(tok.has_chat_template());
  expect_error([&] { tok.chat_template(); }, {"no chat_template"});

  auto unigram = good;
  unigram["model"]["type"] = "Unigram";
  expect_error([&] { text::Tokenizer::from_json(unigram, {}, "t.json"); },
               {"t.json", "unsupported model type 'Unigram'"});
  auto lowercase = good;
  lowercase["normalizer"] = {{"type", "Lowercase"}};
  expect_error([&] { text::Tokenizer::from_json(lowercase, {}, "t.json"); },
               {"t.json", "unsupported normalizer type 'Lowercase'"});
  auto metaspace = good;
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}};
  expect_error([&] { text::Tokenizer::from_json(metaspace, {}, "t.json"); },
               {"t.json", "unsupported pre_tokenizer type 'Metaspace'"});
  auto bad_merge = good;
  bad_merge["model"]["merges"] = nlohmann::json::array({"a b c"});
  expect_error([&] { text::Tokenizer::from_json(bad_merge, {}, "t.json"); }, {"t.json", "merge 0"});
  auto unknown_merge = good;
  unknown_merge["model"]["merges"] = nlohmann::json::array({"a zz"});
  expect_error([&] { text::Tokenizer::from_json(unknown_merge, {}, "t.json"); },
               {"t.json", "not in the vocab"});
  auto bad_regex = good;
  bad_regex["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}},
        {{"type", "ByteLevel"}, {"use_regex", false}}}}};
  expect_error([&] { text::Tokenizer::from_json(bad_regex, {}, "t.json"); },
               {"t.json", "regex does not compile"});
  nlohmann::json config = {{"eos_token", "<|nope|>"}};
  expect_error([&] { text::Tokenizer::from_json(good, config, "dir/tokenizer.json"); },
               {"tokenizer_config.json", "eos_token '<|nope|>'"});
  nlohmann::json llama_template = {{"chat_template", "{{ '<|start_header_id|>' }}"}};
  // A template lethe cannot render (Llama-3's) leaves plain tokenization working.
  auto llama = text::Tokenizer::from_json(good, llama_template, "dir/tokenizer.json");
  EXPECT_EQ(llama.decode(llama.encode("abc")), "abc");
  EXPECT_FALSE(llama.has_chat_template());
  expect_error([&] { llama.chat_template(); },
               {"tokenizer_config.json", "unsupported chat_template"});
  expect_error([&] { llama.encode_qa("q", "a"); }, {"unsupported chat_template"});
}

TEST(TokenizerErrors, LoadStreamsVocabAndBothMergeForms) {
  auto dir = test::make_temp_dir("tok_stream");
  auto pair_form = tiny_tokenizer_json();
  pair_form["model"]["merges"] = nlohmann::json::array({nlohmann::json::array({"a", "b"}), "ab c"});
  pair_form["model"]["vocab"]["abc"] = 257;
  core::write_file_atomic(dir + "/tokenizer.json", pair_form.dump());
  auto tok = text::Tokenizer::load(dir);
  EXPECT_EQ(tok.base_vocab_size(), 258);
  EXPECT_EQ(tok.bpe().num_merges(), 2u);
  EXPECT_EQ(tok.encode("abcab"), (std::vector<int64_t>{257, 256}));
  auto bad_vocab = tiny_tokenizer_json();
  bad_vocab["model"]["vocab"]["x"] = "seven";
  core::write_file_atomic(dir + "/tokenizer.json", bad_vocab.dump());
  expect_error([&] { text::Tokenizer::load(dir); }, {"tokenizer.json", "model.vocab['x']"});
  std::filesystem::remove_all(dir);
}

TEST(TokenizerErrors, LlamaStyleIgnoreMergesAndBosPostProcessor) {
  auto llama = tiny_tokenizer_json();
  llama["model"]["vocab"]["abc"] = 257;  // a token no merge produces
  llama["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"},
         {"pattern", {{"Regex", R"(\p{N}{1,3}|[^\r\n\p{L}\p{N}]?\p{L}+|\s+(?!\S)|\s+)"}}},
         {"behavior", "Isolated"},
         {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  llama["added_tokens"] = {{{"id", 258}, {"content", "<|begin_of_text|>"}, {"special", true}}};
  llama["post_processor"] = {{"type", "TemplateProcessing"},
                             {"single",
                              {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                               {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}}};
  auto plain = text::Tokenizer::from_json(llama, {}, "llama.json");
  EXPECT_EQ(plain.encode("abc"), (std::vector<int64_t>{256, 'c'}));  // merges only
  llama["model"]["ignore_merges"] = true;
  auto tok = text::Tokenizer::from_json(llama, {}, "llama.json");
  EXPECT_EQ(tok.encode("abc"), std::vector<int64_t>{257});  // the whole piece is a token
  EXPECT_EQ(tok.encode("1234"), (std::vector<int64_t>{'1', '2', '3', '4'}));
  text::EncodeOptions with_bos;
  with_bos.add_special_tokens = true;
  EXPECT_EQ(tok.encode("abc", with_bos), (std::vector<int64_t>{258, 257}));
  EXPECT_EQ(tok.decode({258, 257}, /*skip_special=*/true), "abc");
}

TEST(TokenizerErrors, MergesInPairFormEqualStringForm) {
  auto pair_form = tiny_tokenizer_json();
  auto string_form = pair_form;
  string_form["model"]["merges"] = nlohmann::json::array({"a b"});
  auto a = text::Tokenizer::from_json(pair_form, {}, "pair.json");
  auto b = text::Tokenizer::from_json(string_form, {}, "string.json");
  EXPECT_EQ(a.encode("abab"), (std::vector<int64_t>{256, 256}));
  EXPECT_EQ(b.encode("abab"), (std::vector<int64_t>{256, 256}));
}

}  // namespace lethe
