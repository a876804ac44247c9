// Tokenizer benchmark: tokenizer.json load time, then encode and decode throughput on a few MB of
// mixed text (English licence prose, C++ code, and the multilingual fixture cases), cold and warm
// cache; then BPE training of a 4096-token vocabulary on the same text. Usage: bench_tokenizer
// [TOKENIZER_DIR] [TEXT_FILE...]   (defaults: the Qwen2.5 fixture, see below)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"
#include "lethe_source_dir.h"

namespace fs = std::filesystem;
using lethe::text::Tokenizer;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Files of `dir` with one of `exts`, sorted, until `budget` bytes are taken.
void add_files(const fs::path& dir, const std::vector<std::string>& exts, size_t budget,
               std::vector<std::string>* docs) {
  if (!fs::is_directory(dir)) return;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  size_t taken = 0;
  for (const auto& f : files) {
    bool match = exts.empty();
    for (const auto& ext : exts) match |= f.extension() == ext;
    if (!match || taken >= budget) continue;
    std::string text = lethe::core::read_file(f);
    taken += text.size();
    docs->push_back(std::move(text));
  }
}

}  // namespace

int main(int argc, char** argv) {
  fs::path fixtures = fs::path(LETHE_SOURCE_DIR) / ".." / "shared" / "fixtures" / "qwen-tokenizer";
  fs::path tokenizer_dir = argc > 1 ? fs::path(argv[1]) : fixtures;
  std::vector<std::string> docs;
  for (int i = 2; i < argc; ++i) docs.push_back(lethe::core::read_file(argv[i]));
  if (docs.empty()) {
    // Default corpus: ~1 MB prose, ~2.5 MB C++ headers, ~0.5 MB multilingual fixture text.
    add_files("/usr/share/common-licenses", {}, 1 << 20, &docs);
    add_files("/usr/include/c++/12/bits", {".h", ".tcc"}, 5 << 19, &docs);
    std::string multilingual;
    for (const auto& r : lethe::core::read_jsonl(fixtures / "cases.jsonl"))
      multilingual += r["text"].get<std::string>() + "\n";
    std::string block;
    while (block.size() < (1u << 19)) block += multilingual;
    docs.push_back(block);
  }
  size_t total_bytes = 0;
  for (const auto& d : docs) total_bytes += d.size();

  try {
    auto start = std::chrono::steady_clock::now();
    auto parsed = lethe::core::read_json(tokenizer_dir / "tokenizer.json");
    double parse_s = seconds_since(start);
    start = std::chrono::steady_clock::now();
    Tokenizer tok = Tokenizer::load(tokenizer_dir);
    double load_s = seconds_since(start);
    std::printf("tokenizer: %s (vocab %lld)\n", tok.source().c_str(),
                static_cast<long long>(tok.vocab_size()));
    std::printf("load: %.3f s total (JSON parse alone %.3f s)\n", load_s, parse_s);
    std::printf("corpus: %zu documents, %.2f MB\n", docs.size(), total_bytes / 1e6);

    std::vector<std::vector<int64_t>> encoded(docs.size());
    for (const char* pass : {"cold cache", "warm cache"}) {
      start = std::chrono::steady_clock::now();
      size_t tokens = 0;
      for (size_t i = 0; i < docs.size(); ++i) {
        encoded[i] = tok.encode(docs[i]);
        tokens += encoded[i].size();
      }
      double s = seconds_since(start);
      std::printf(
          "encode (%s): %zu tokens in %.3f s = %.0f tokens/s, %.2f MB/s (%.2f bytes/token)\n", pass,
          tokens, s, tokens / s, total_bytes / 1e6 / s, static_cast<double>(total_bytes) / tokens);
    }
    start = std::chrono::steady_clock::now();
    size_t tokens = 0, mismatches = 0;
    for (size_t i = 0; i < docs.size(); ++i) {
      tokens += encoded[i].size();
      mismatches += tok.decode(encoded[i]) != docs[i];  // the corpus is NFC already
    }
    double s = seconds_since(start);
    std::printf("decode: %.0f tokens/s; round-trip mismatches: %zu of %zu documents\n", tokens / s,
                mismatches, docs.size());

    for (int64_t vocab_size : {2048, 4096}) {
      start = std::chrono::steady_clock::now();
      lethe::text::BpeTrainerOptions options;
      options.vocab_size = vocab_size;
      lethe::text::BpeTrainer trainer(options);
      for (const auto& d : docs) trainer.add_text(d);
      double count_s = seconds_since(start);
      auto trained = trainer.train();
      double train_s = seconds_since(start);
      std::printf(
          "BPE trainer: vocab %lld (%zu merges) on %.2f MB in %.2f s (counting %.2f s, %zu "
          "unique pieces)\n",
          static_cast<long long>(trained.vocab_size()), trained.merges.size(), total_bytes / 1e6,
          train_s, count_s, trainer.num_unique_pieces());
    }
    return mismatches == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tokenizer: %s\n", e.what());
    return 1;
  }
}
