// The BPE model of a byte-level tokenizer: vocabulary, merge ranks, and the merge loop that turns
// one pre-tokenized piece (raw bytes) into token ids, with a cache. Knows nothing of added tokens
// or regexes.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lethe::text {

class BpeModel {
 public:
  // `vocab`: byte-level token string -> id; `merges`: pairs of byte-level token strings, best
  // first. Every byte must be in the vocabulary; every merge's parts and result must be too. Errors
  // name `where`.
  BpeModel(std::unordered_map<std::string, int32_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, bool ignore_merges,
           const std::string& where);

  // Appends the ids of one piece of raw bytes (the byte-level mapping is applied here).
  void encode_piece(std::string_view bytes, std::vector<int32_t>* ids) const;

  // Same without the cache (for benchmarks and the cache's own tests).
  void encode_piece_uncached(std::string_view bytes, std::vector<int32_t>* ids) const;

  // Token string (byte-level form, as in tokenizer.json) -> id, or -1.
  int32_t token_to_id(const std::string& token) const;
  // The byte-level form of `id`, or "" when the id is not in the vocabulary.
  const std::string& id_to_token(int32_t id) const;
  // The raw bytes `id` stands for ("" when unknown).
  const std::string& id_to_bytes(int32_t id) const;

  // One more than the largest vocabulary id.
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  size_t num_merges() const { return merge_count_; }
  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }

  void clear_cache() const;

 private:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> tokens_;  // id -> byte-level string
  std::vector<std::string> bytes_;   // id -> raw bytes
  std::array<int32_t, 256> byte_ids_{};
  std::unordered_map<uint64_t, Merge> merges_;
  size_t merge_count_ = 0;
  bool ignore_merges_ = false;

  // Pieces seen before -> their ids. Bounded: once full, new pieces are no longer cached.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
  static constexpr size_t kCacheCapacity = 1 << 18;
  static constexpr size_t kCacheMaxPieceBytes = 256;
};

}  // namespace lethe::text
