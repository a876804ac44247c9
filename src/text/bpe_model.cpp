// Byte-level BPE merging by rank (Sennrich et al. 2016; GPT-2's byte-level variant), as Hugging
// Face tokenizers' BPE model does it: repeatedly merge the adjacent pair with the lowest merge
// rank, leftmost first.
#include "text/bpe_model.h"

#include <queue>

#include "core/error.h"
#include "text/byte_level.h"

namespace lethe::text {

namespace {
const std::string kEmpty;
// Pieces up to this many bytes use the quadratic scan; longer ones a heap (same result).
constexpr size_t kHeapThreshold = 24;
}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, int32_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   bool ignore_merges, const std::string& where)
    : vocab_(std::move(vocab)), ignore_merges_(ignore_merges) {
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab_) {
    LETHE_CHECK(id >= 0, where, ": vocab entry '", token, "' has a negative id ", id);
    max_id = std::max(max_id, id);
  }
  tokens_.assign(static_cast<size_t>(max_id + 1), std::string());
  bytes_.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [token, id] : vocab_) {
    LETHE_CHECK(tokens_[id].empty(), where, ": vocab id ", id, " is used by both '", tokens_[id],
                "' and '", token, "'");
    tokens_[id] = token;
    LETHE_CHECK(byte_level_to_bytes(token, &bytes_[id]), where, ": vocab entry '", token,
                "' is not a byte-level token (a character outside GPT-2's byte mapping)");
  }
  const auto& byte_strings = byte_to_utf8();
  for (int b = 0; b < 256; ++b) {
    auto it = vocab_.find(byte_strings[b]);
    LETHE_CHECK(it != vocab_.end(), where, ": vocab lacks the byte-level token for byte ", b, " ('",
                byte_strings[b], "'); only byte-level BPE without unknown tokens is supported");
    byte_ids_[b] = it->second;
  }
  merges_.reserve(merges.size() * 2);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    auto a = vocab_.find(left), b = vocab_.find(right), ab = vocab_.find(left + right);
    LETHE_CHECK(a != vocab_.end() && b != vocab_.end(), where, ": merge ", rank, " ('", left, " ",
                right, "') uses a token that is not in the vocab");
    LETHE_CHECK(ab != vocab_.end(), where, ": merge ", rank, " ('", left, " ", right,
                "') produces '", left + right, "', which is not in the vocab");
    // A repeated pair keeps its first (best) rank, as Hugging Face does.
    merges_.emplace(pair_key(a->second, b->second), Merge{static_cast<int32_t>(rank), ab->second});
  }
  merge_count_ = merges.size();
}

int32_t BpeModel::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string& BpeModel::id_to_token(int32_t id) const {
  return id >= 0 && id < size() ? tokens_[id] : kEmpty;
}

const std::string& BpeModel::id_to_bytes(int32_t id) const {
  return id >= 0 && id < size() ? bytes_[id] : kEmpty;
}

void BpeModel::clear_cache() const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.clear();
}

void BpeModel::encode_piece(std::string_view bytes, std::vector<int32_t>* ids) const {
  if (bytes.size() == 1) {
    ids->push_back(byte_ids_[static_cast<unsigned char>(bytes[0])]);
    return;
  }
  const bool cacheable = bytes.size() <= kCacheMaxPieceBytes;
  std::string key;
  if (cacheable) {
    key.assign(bytes);
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t first = ids->size();
  encode_piece_uncached(bytes, ids);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity)
      cache_.emplace(std::move(key), std::vector<int32_t>(ids->begin() + first, ids->end()));
  }
}

void BpeModel::encode_piece_uncached(std::string_view bytes, std::vector<int32_t>* ids) const {
  if (bytes.empty()) return;
  if (ignore_merges_) {
    // Llama-3 style: a piece that is itself a token is never split.
    auto it = vocab_.find(bytes_to_byte_level(bytes));
    if (it != vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  const size_t n = bytes.size();
  if (n <= kHeapThreshold) {
    int32_t sym[kHeapThreshold];
    size_t len = n;
    for (size_t i = 0; i < n; ++i) sym[i] = byte_ids_[static_cast<unsigned char>(bytes[i])];
    while (len > 1) {
      int32_t best_rank = INT32_MAX, best_id = -1;
      size_t best_pos = 0;
      for (size_t i = 0; i + 1 < len; ++i) {
        auto it = merges_.find(pair_key(sym[i], sym[i + 1]));
        if (it != merges_.end() && it->second.rank < best_rank) {
          best_rank = it->second.rank;
          best_id = it->second.id;
          best_pos = i;
        }
      }
      if (best_id < 0) break;
      sym[best_pos] = best_id;
      for (size_t i = best_pos + 1; i + 1 < len; ++i) sym[i] = sym[i + 1];
      --len;
    }
    ids->insert(ids->end(), sym, sym + len);
    return;
  }

  // Long pieces: symbols in a linked list, candidate merges in a min-heap on (rank, position);
  // stale candidates are skipped when popped.
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
  };
  std::vector<Symbol> symbols(n);
  for (size_t i = 0; i < n; ++i)
    symbols[i] = {byte_ids_[static_cast<unsigned char>(bytes[i])], static_cast<int32_t>(i) - 1,
                  i + 1 < n ? static_cast<int32_t>(i + 1) : -1};
  using Candidate = std::pair<int32_t, int32_t>;  // (rank, left symbol position)
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push_pair = [&](int32_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    auto it = merges_.find(pair_key(symbols[left].id, symbols[symbols[left].next].id));
    if (it != merges_.end()) heap.emplace(it->second.rank, left);
  };
  for (size_t i = 0; i + 1 < n; ++i) push_pair(static_cast<int32_t>(i));
  std::vector<bool> removed(n, false);
  while (!heap.empty()) {
    auto [rank, left] = heap.top();
    heap.pop();
    if (removed[left] || symbols[left].next < 0) continue;
    int32_t right = symbols[left].next;
    auto it = merges_.find(pair_key(symbols[left].id, symbols[right].id));
    if (it == merges_.end() || it->second.rank != rank) continue;
    symbols[left].id = it->second.id;
    symbols[left].next = symbols[right].next;
    if (symbols[right].next >= 0) symbols[symbols[right].next].prev = left;
    removed[right] = true;
    push_pair(symbols[left].prev);
    push_pair(left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids->push_back(symbols[i].id);
}

}  // namespace lethe::text
