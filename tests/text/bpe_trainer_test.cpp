// The BPE trainer: a trained vocabulary saved as a Hugging Face folder reloads in lethe's
// Tokenizer, round-trips text, compresses it, and training is deterministic.
#include "text/bpe_trainer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"
#include "expect_close.h"
#include "text/byte_level.h"
#include "text/normalizer.h"
#include "text/tokenizer.h"

namespace lethe {

namespace {

// ~200 KB of varied English-like sentences, deterministic.
std::vector<std::string> make_corpus() {
  const char* names[] = {"Alice Moreau", "Bashir Okafor", "Chen Wei", "Dana Kowalski",
                         "Émile Roux"};
  const char* verbs[] = {"was born in", "moved to", "studied in", "wrote a novel about", "visited"};
  const char* places[] = {"Lisbon", "Nairobi", "Kyoto", "Montréal", "Reykjavík", "São Paulo"};
  std::vector<std::string> corpus;
  uint32_t state = 12345;
  auto next = [&](uint32_t n) {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) % n;
  };
  for (int i = 0; i < 3000; ++i) {
    std::string name = names[next(5)], place = places[next(6)];
    corpus.push_back(name + " " + verbs[next(5)] + " " + place + " in " +
                     std::to_string(1900 + next(120)) + ". Where did " + name + " go?\n" +
                     "  The answer: " + place + ", of course!");
  }
  return corpus;
}

text::TrainedBpe train(const std::vector<std::string>& corpus, int64_t vocab_size) {
  text::BpeTrainerOptions options;
  options.vocab_size = vocab_size;
  text::BpeTrainer trainer(options);
  for (const auto& t : corpus) trainer.add_text(t);
  return trainer.train();
}

}  // namespace

TEST(BpeTrainer, TrainsSavesReloadsAndRoundTrips) {
  auto corpus = make_corpus();
  auto trained = train(corpus, 380);
  EXPECT_EQ(trained.vocab_size(), 380);
  EXPECT_EQ(trained.tokens.size(), 377u);
  EXPECT_GE(trained.merges.size(), 377u - 256u);

  auto dir = test::make_temp_dir("bpe_trainer");
  trained.save(dir, text::ChatTemplate::chatml(std::string("You are a helpful assistant.")), 2048);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"})
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / file)) << file;
  auto tok = text::Tokenizer::load(dir);
  EXPECT_EQ(tok.vocab_size(), 380);
  EXPECT_EQ(tok.token_to_id("<|endoftext|>"), 377);
  EXPECT_EQ(tok.im_start_id(), 378);
  EXPECT_EQ(tok.im_end_id(), 379);
  EXPECT_EQ(tok.eos_id(), 379);
  EXPECT_EQ(tok.pad_id(), 377);
  EXPECT_EQ(tok.id_to_token(0), "!");          // GPT-2 byte order, as Qwen
  EXPECT_GE(tok.token_to_id("ĠLisbon"), 256);  // frequent words become single tokens

  // Round trip on training text and on text the trainer never saw.
  size_t bytes = 0, tokens = 0;
  for (const auto& t : corpus) {
    auto ids = tok.encode(t);
    bytes += t.size();
    tokens += ids.size();
    ASSERT_EQ(tok.decode(ids), text::nfc(t));
  }
  // Merges compress the text: far fewer tokens than bytes (each byte would be one token; the
  // digits of years stay one token each under the Qwen2 split).
  EXPECT_LT(static_cast<double>(tokens), 0.4 * static_cast<double>(bytes));
  for (std::string unseen : {"Zebra 😀 你好 naïve\t\r\n  x", "<|im_start|>user\nhi<|im_end|>"}) {
    EXPECT_EQ(tok.decode(tok.encode(unseen)), text::nfc(unseen));
  }
  EXPECT_EQ(tok.encode("<|im_end|>"), std::vector<int64_t>{379});

  // The chat template written into tokenizer_config.json is recognised with its system prompt.
  EXPECT_EQ(tok.chat_template().default_system(), "You are a helpful assistant.");
  EXPECT_EQ(tok.chat_template().render({{"user", "Q"}}, true),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nQ"
            "<|im_end|>\n<|im_start|>assistant\n");
  auto config = core::read_json(std::filesystem::path(dir) / "tokenizer_config.json");
  EXPECT_EQ(config["eos_token"], "<|im_end|>");
  EXPECT_EQ(config["pad_token"], "<|endoftext|>");
  std::filesystem::remove_all(dir);
}

TEST(BpeTrainer, IsDeterministicAndMergesByFrequency) {
  auto corpus = make_corpus();
  auto a = train(corpus, 330), b = train(corpus, 330);
  EXPECT_EQ(a.merges, b.merges);
  EXPECT_EQ(a.tokens, b.tokens);
  // The first merge is the most frequent byte pair of the pre-tokenized corpus (counted here
  // directly).
  std::map<std::pair<std::string, std::string>, int64_t> pair_counts;
  text::SplitPreTokenizer split(text::kQwen2SplitPattern, "test");
  for (const auto& t : corpus) {
    std::vector<std::string_view> pieces;
    auto normalized = text::nfc(t);
    split.split(normalized, &pieces);
    for (auto p : pieces) {
      std::vector<std::string> chars;
      for (unsigned char c : std::string(p)) chars.push_back(text::byte_to_utf8()[c]);
      for (size_t i = 0; i + 1 < chars.size(); ++i) ++pair_counts[{chars[i], chars[i + 1]}];
    }
  }
  int64_t best = 0;
  for (const auto& [pair, count] : pair_counts) best = std::max(best, count);
  EXPECT_EQ(pair_counts[a.merges[0]], best);
  // Larger vocabularies extend smaller ones: the first merges are the same.
  auto c = train(corpus, 380);
  ASSERT_GT(c.merges.size(), a.merges.size());
  EXPECT_TRUE(std::equal(a.merges.begin(), a.merges.end(), c.merges.begin()));
}

TEST(BpeTrainer, StopsWhenNoPairIsFrequentEnough) {
  // This corpus has a small set of distinct words: once each is one token, training stops early.
  auto trained = train(make_corpus(), 5000);
  EXPECT_LT(trained.vocab_size(), 5000);
  EXPECT_GT(trained.vocab_size(), 380);
}

TEST(BpeTrainer, RejectsBadOptionsAndInput) {
  text::BpeTrainerOptions options;
  options.vocab_size = 100;
  EXPECT_THROW(text::BpeTrainer{options}, Error);
  text::BpeTrainer trainer;
  EXPECT_THROW(trainer.add_text("bad \xFF"), Error);
}

}  // namespace lethe
