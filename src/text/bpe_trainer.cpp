// Byte-level BPE training (Sennrich et al. 2016, GPT-2 bytes): count pre-tokenized pieces, then
// merge the most frequent adjacent pair again and again, updating pair counts only in the pieces
// that hold it. Ties go to the pair with the smaller (left id, right id), so training is
// deterministic.
#include "text/bpe_trainer.h"

#include <algorithm>
#include <queue>

#include "core/atomic_file.h"
#include "core/error.h"
#include "text/byte_level.h"
#include "text/normalizer.h"

namespace lethe::text {

using ordered_json = nlohmann::ordered_json;

namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t left_of(uint64_t key) { return static_cast<int32_t>(key >> 32); }
int32_t right_of(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }

struct Candidate {
  int64_t count;
  uint64_t key;
  // priority_queue pops the largest: highest count, then smallest pair.
  bool operator<(const Candidate& other) const {
    return count != other.count ? count < other.count : key > other.key;
  }
};

ordered_json byte_level_step() {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", false},
          {"use_regex", false}};
}

}  // namespace

BpeTrainer::BpeTrainer(BpeTrainerOptions options)
    : options_(std::move(options)), split_(options_.split_pattern, "BPE trainer split pattern") {
  const int64_t least = 256 + static_cast<int64_t>(options_.special_tokens.size());
  LETHE_CHECK(options_.vocab_size >= least, "BPE trainer: vocab_size ", options_.vocab_size,
              " is below the ", least, " byte and special tokens");
  LETHE_CHECK(options_.min_frequency >= 1, "BPE trainer: min_frequency must be >= 1");
}

void BpeTrainer::add_text(std::string_view text) {
  size_t bad = find_invalid_utf8(text);
  LETHE_CHECK(bad == std::string_view::npos, "BPE trainer: text is not valid UTF-8 (byte ", bad,
              ")");
  std::string normalized = nfc(text);
  std::vector<std::string_view> stretches{normalized}, next, pieces;
  for (const auto& special : options_.special_tokens) {
    next.clear();
    for (auto s : stretches) {
      for (size_t pos; (pos = s.find(special)) != std::string_view::npos;) {
        if (pos > 0) next.push_back(s.substr(0, pos));
        s = s.substr(pos + special.size());
      }
      if (!s.empty()) next.push_back(s);
    }
    stretches.swap(next);
  }
  for (auto s : stretches) {
    pieces.clear();
    split_.split(s, &pieces);
    for (auto piece : pieces) ++piece_counts_[std::string(piece)];
  }
}

TrainedBpe BpeTrainer::train() const {
  TrainedBpe out;
  out.special_tokens = options_.special_tokens;
  out.split_pattern = options_.split_pattern;
  // Ids 0..255: the bytes ordered by their byte-level code point (GPT-2's and Qwen's order).
  std::vector<int> byte_order(256);
  for (int b = 0; b < 256; ++b) byte_order[b] = b;
  std::sort(byte_order.begin(), byte_order.end(),
            [](int a, int b) { return byte_to_code_point(a) < byte_to_code_point(b); });
  std::array<int32_t, 256> byte_id{};
  for (int i = 0; i < 256; ++i) {
    byte_id[byte_order[i]] = i;
    out.tokens.push_back(byte_to_utf8()[byte_order[i]]);
  }

  // Pieces in a fixed (sorted) order, as id sequences with their counts.
  std::vector<const std::pair<const std::string, int64_t>*> sorted;
  sorted.reserve(piece_counts_.size());
  for (const auto& entry : piece_counts_) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  std::vector<std::vector<int32_t>> words(sorted.size());
  std::vector<int64_t> counts(sorted.size());
  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;  // may hold stale entries
  for (size_t w = 0; w < sorted.size(); ++w) {
    counts[w] = sorted[w]->second;
    for (unsigned char c : sorted[w]->first) words[w].push_back(byte_id[c]);
    for (size_t i = 0; i + 1 < words[w].size(); ++i) {
      uint64_t key = pair_key(words[w][i], words[w][i + 1]);
      pair_counts[key] += counts[w];
      auto& list = pair_words[key];
      if (list.empty() || list.back() != static_cast<int32_t>(w)) list.push_back(w);
    }
  }
  std::priority_queue<Candidate> heap;
  for (const auto& [key, count] : pair_counts) heap.push({count, key});

  const size_t target_tokens =
      static_cast<size_t>(options_.vocab_size) - options_.special_tokens.size();
  std::unordered_map<std::string, int32_t> token_ids;
  for (size_t id = 0; id < out.tokens.size(); ++id) token_ids[out.tokens[id]] = id;
  std::vector<int32_t> last_merge(words.size(), -1);
  std::vector<uint64_t> touched;
  while (out.tokens.size() < target_tokens && !heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    auto found = pair_counts.find(top.key);
    int64_t current = found == pair_counts.end() ? 0 : found->second;
    if (current != top.count) {
      // Stale: a lower count is re-queued; a higher one already has its own entry.
      if (current > 0 && current < top.count) heap.push({current, top.key});
      continue;
    }
    if (current < options_.min_frequency) break;
    const int32_t a = left_of(top.key), b = right_of(top.key);
    const int32_t merge_index = static_cast<int32_t>(out.merges.size());
    out.merges.emplace_back(out.tokens[a], out.tokens[b]);
    // Two merges can spell the same string ("ab"+"c", "a"+"bc"): they share one token, as in HF.
    auto [it, is_new] = token_ids.emplace(out.tokens[a] + out.tokens[b], out.tokens.size());
    const int32_t merged = it->second;
    if (is_new) out.tokens.push_back(it->first);

    touched.clear();
    std::vector<int32_t> word_list = std::move(pair_words[top.key]);
    pair_words.erase(top.key);
    for (int32_t w : word_list) {
      if (last_merge[w] == merge_index) continue;
      last_merge[w] = merge_index;
      auto& word = words[w];
      bool has_pair = false;
      for (size_t i = 0; i + 1 < word.size() && !has_pair; ++i)
        has_pair = word[i] == a && word[i + 1] == b;
      if (!has_pair) continue;
      // Replace the word's pairs: subtract the old ones, merge left to right, add the new ones.
      for (size_t i = 0; i + 1 < word.size(); ++i)
        pair_counts[pair_key(word[i], word[i + 1])] -= counts[w];
      std::vector<int32_t> merged_word;
      merged_word.reserve(word.size());
      for (size_t i = 0; i < word.size(); ++i) {
        if (i + 1 < word.size() && word[i] == a && word[i + 1] == b) {
          merged_word.push_back(merged);
          ++i;
        } else {
          merged_word.push_back(word[i]);
        }
      }
      word.swap(merged_word);
      for (size_t i = 0; i + 1 < word.size(); ++i) {
        uint64_t key = pair_key(word[i], word[i + 1]);
        pair_counts[key] += counts[w];
        if (word[i] == merged || word[i + 1] == merged) {
          auto& list = pair_words[key];
          if (list.empty() || list.back() != w) list.push_back(w);
          touched.push_back(key);
        }
      }
    }
    pair_counts.erase(top.key);
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (uint64_t key : touched) heap.push({pair_counts[key], key});
  }
  return out;
}

ordered_json TrainedBpe::tokenizer_json() const {
  ordered_json added = ordered_json::array();
  for (size_t i = 0; i < special_tokens.size(); ++i) {
    added.push_back({{"id", tokens.size() + i},
                     {"content", special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  ordered_json vocab = ordered_json::object();
  for (size_t id = 0; id < tokens.size(); ++id) vocab[tokens[id]] = id;
  ordered_json merge_list = ordered_json::array();
  for (const auto& [left, right] : merges) merge_list.push_back(left + " " + right);
  ordered_json split = {{"type", "Split"},
                        {"pattern", {{"Regex", split_pattern}}},
                        {"behavior", "Isolated"},
                        {"invert", false}};
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"}, {"pretokenizers", ordered_json::array({split, byte_level_step()})}}},
      {"post_processor", byte_level_step()},
      {"decoder", byte_level_step()},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"vocab", vocab},
        {"merges", merge_list}}}};
}

ordered_json TrainedBpe::tokenizer_config_json(const ChatTemplate& chat,
                                               int64_t model_max_length) const {
  auto has = [&](const std::string& token) {
    return std::find(special_tokens.begin(), special_tokens.end(), token) != special_tokens.end();
  };
  for (const char* needed : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"})
    LETHE_CHECK(has(needed), "BPE trainer: the ChatML tokenizer_config needs the special token ",
                needed);
  ordered_json decoder = ordered_json::object();
  ordered_json additional = ordered_json::array();
  for (size_t i = 0; i < special_tokens.size(); ++i) {
    decoder[std::to_string(tokens.size() + i)] = {
        {"content", special_tokens[i]}, {"lstrip", false}, {"normalized", false}, {"rstrip", false},
        {"single_word", false},         {"special", true}};
    if (special_tokens[i] != "<|endoftext|>") additional.push_back(special_tokens[i]);
  }
  return {{"add_bos_token", false},
          {"add_prefix_space", false},
          {"added_tokens_decoder", decoder},
          {"additional_special_tokens", additional},
          {"bos_token", nullptr},
          {"chat_template", chat.to_jinja()},
          {"clean_up_tokenization_spaces", false},
          {"eos_token", "<|im_end|>"},
          {"errors", "replace"},
          {"model_max_length", model_max_length},
          {"pad_token", "<|endoftext|>"},
          {"split_special_tokens", false},
          {"tokenizer_class", "Qwen2Tokenizer"},
          {"unk_token", nullptr}};
}

void TrainedBpe::save(const std::filesystem::path& dir, const ChatTemplate& chat,
                      int64_t model_max_length) const {
  core::write_file_atomic(dir / "tokenizer.json", tokenizer_json().dump(2) + "\n");
  core::write_file_atomic(dir / "tokenizer_config.json",
                          tokenizer_config_json(chat, model_max_length).dump(2) + "\n");
  // The slow (pure Python) Qwen2Tokenizer reads these two instead of tokenizer.json.
  ordered_json vocab = ordered_json::object();
  for (size_t id = 0; id < tokens.size(); ++id) vocab[tokens[id]] = id;
  core::write_file_atomic(dir / "vocab.json", vocab.dump() + "\n");
  std::string merges_txt = "#version: 0.2\n";
  for (const auto& [left, right] : merges) merges_txt += left + " " + right + "\n";
  core::write_file_atomic(dir / "merges.txt", merges_txt);
}

}  // namespace lethe::text
