// Metric throughput: ROUGE (rouge_score semantics, stemmed) pairs/s, Porter stems/s, and ks_2samp
// wall time per path (exact equal/unequal sizes, asymptotic). Run: build/bench/bench_metrics
// [fixtures dir].
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/json_io.h"
#include "eval/ks_test.h"
#include "eval/porter_stemmer.h"
#include "eval/rouge.h"
#include "lethe_source_dir.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<double> sample(int n, double step, double scale, double offset) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = std::fmod(i * step, 1.0) * scale + offset;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lethe;
  std::string fixtures = argc > 1 ? argv[1] : std::string(LETHE_SOURCE_DIR) + "/../shared/fixtures";
  auto records = core::read_jsonl(fixtures + "/metrics/rouge_cases.jsonl");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& r : records) pairs.emplace_back(r["target"], r["prediction"]);

  const int rounds = 500;
  double sink = 0.0;
  auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < rounds; ++k)
    for (const auto& [t, p] : pairs)
      sink += eval::rouge_l(t, p).recall + eval::rouge_n(t, p, 1).recall;
  double rouge_s = seconds_since(start);
  std::printf("rouge (L + 1, stemmed): %.0f pairs/s (%zu pairs x %d)\n",
              rounds * pairs.size() / rouge_s, pairs.size(), rounds);

  std::vector<std::string> words;
  for (const auto& [t, p] : pairs)
    for (const auto& w : eval::rouge_tokenize(t, false)) words.push_back(w);
  start = std::chrono::steady_clock::now();
  for (int k = 0; k < rounds * 10; ++k)
    for (const auto& w : words) sink += static_cast<double>(eval::porter_stem(w).size());
  std::printf("porter stemmer: %.0f words/s\n",
              rounds * 10.0 * words.size() / seconds_since(start));

  struct Case {
    int n1, n2;
  };
  for (Case c : {Case{400, 400}, Case{400, 100}, Case{2000, 1999}, Case{10000, 10000},
                 Case{10000, 9999}, Case{20000, 15000}}) {
    auto a = sample(c.n1, 0.7548776662466927, 1.0, 0.0);
    auto b = sample(c.n2, 0.5698402909980532, 0.97, 0.02);
    start = std::chrono::steady_clock::now();
    auto r = eval::ks_2samp(a, b);
    double s = seconds_since(start);
    std::printf("ks_2samp %5d x %5d: %-5s D=%.6f p=%.6g  %.3f ms\n", c.n1, c.n2, r.method.c_str(),
                r.statistic, r.pvalue, s * 1e3);
  }
  return sink == -1.0;
}
