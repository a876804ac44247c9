// MinHash (Broder 1997) with LSH banding (Leskovec et al., Mining of Massive Datasets, ch. 3);
// candidates are confirmed with the exact Jaccard similarity of the shingle sets.
#include "datagen/dedup.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <unordered_map>

#include "core/error.h"
#include "datagen/text_match.h"

namespace lethe::datagen {

namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::vector<uint64_t> minhash(const std::vector<uint64_t>& set, int num_hashes) {
  std::vector<uint64_t> sig(num_hashes, std::numeric_limits<uint64_t>::max());
  for (uint64_t s : set)
    for (int k = 0; k < num_hashes; ++k)
      sig[k] = std::min(sig[k], splitmix64(s ^ splitmix64(static_cast<uint64_t>(k) + 1)));
  return sig;
}

}  // namespace

std::vector<uint64_t> shingles(const std::string& text, int n) {
  std::vector<std::string> words;
  std::string norm = normalize_text(text);
  size_t start = 0;
  while (start < norm.size()) {
    size_t end = norm.find(' ', start);
    if (end == std::string::npos) end = norm.size();
    words.push_back(norm.substr(start, end - start));
    start = end + 1;
  }
  std::vector<uint64_t> out;
  if (words.empty()) return out;
  size_t width = std::min<size_t>(std::max(1, n), words.size());
  for (size_t i = 0; i + width <= words.size(); ++i) {
    std::string gram;
    for (size_t j = i; j < i + width; ++j) gram += words[j] + '\x1f';
    out.push_back(fnv1a(gram));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t i = 0, j = 0, common = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) {
      ++common;
      ++i;
      ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

DedupResult deduplicate(const std::vector<std::string>& texts, const DedupOptions& options) {
  LETHE_CHECK(
      options.num_hashes > 0 && options.bands > 0 && options.num_hashes % options.bands == 0,
      "dedup: num_hashes (", options.num_hashes, ") must be a positive multiple of bands (",
      options.bands, ")");
  LETHE_CHECK(options.threshold > 0 && options.threshold <= 1,
              "dedup: threshold must be in (0, 1], got ", options.threshold);
  DedupResult result;
  std::unordered_map<std::string, size_t> exact;  // normalised text -> first index
  std::vector<std::unordered_map<uint64_t, std::vector<size_t>>> buckets(options.bands);
  std::vector<std::vector<uint64_t>> sets(texts.size());
  const int rows = options.num_hashes / options.bands;
  std::vector<size_t> checked(texts.size(), 0);  // i + 1 when j was compared with text i
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string norm = normalize_text(texts[i]);
    if (auto it = exact.find(norm); it != exact.end()) {
      result.duplicates.push_back({i, it->second, 1.0, true});
      continue;
    }
    sets[i] = shingles(texts[i], options.shingle_words);
    auto sig = minhash(sets[i], options.num_hashes);
    std::vector<uint64_t> band_keys(options.bands);
    size_t best = texts.size();
    double best_sim = 0;
    for (int b = 0; b < options.bands; ++b) {
      uint64_t key = 0x12345;
      for (int r = 0; r < rows; ++r) key = splitmix64(key ^ sig[b * rows + r]);
      band_keys[b] = key;
      auto bucket = buckets[b].find(key);
      if (bucket == buckets[b].end()) continue;
      for (size_t j : bucket->second) {
        if (checked[j] == i + 1) continue;  // already compared through another band
        checked[j] = i + 1;
        double sim = jaccard(sets[i], sets[j]);
        if (sim >= options.threshold && (sim > best_sim || (sim == best_sim && j < best))) {
          best = j;
          best_sim = sim;
        }
      }
    }
    if (best < texts.size()) {
      result.duplicates.push_back({i, best, best_sim, false});
      continue;
    }
    exact.emplace(norm, i);
    result.keep.push_back(i);
    for (int b = 0; b < options.bands; ++b) buckets[b][band_keys[b]].push_back(i);
  }
  return result;
}

}  // namespace lethe::datagen
