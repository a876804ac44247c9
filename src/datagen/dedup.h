// Duplicate detection for generated text: exact duplicates after normalisation, and near duplicates
// by MinHash signatures over word shingles (LSH banding for candidates, then the exact Jaccard
// similarity). Deterministic: fixed hash functions, results in input order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lethe::datagen {

// The set of hashed word n-grams of the normalised text (a text shorter than n words is one
// shingle).
std::vector<uint64_t> shingles(const std::string& text, int n);

// |A ∩ B| / |A ∪ B| of two sorted, unique hash sets.
double jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

struct DedupOptions {
  int shingle_words = 2;
  int num_hashes = 64;     // MinHash signature length
  int bands = 16;          // LSH bands (num_hashes must be a multiple)
  double threshold = 0.7;  // near duplicate when Jaccard >= threshold
};

struct Duplicate {
  size_t index;     // the later text
  size_t original;  // the earliest text it duplicates
  double jaccard;   // 1 for exact duplicates
  bool exact;
};

struct DedupResult {
  std::vector<size_t> keep;           // indices of first occurrences, in input order
  std::vector<Duplicate> duplicates;  // every dropped text and what it duplicates
};

// Keeps the first of each group of duplicates (exact or near).
DedupResult deduplicate(const std::vector<std::string>& texts, const DedupOptions& options = {});

}  // namespace lethe::datagen
