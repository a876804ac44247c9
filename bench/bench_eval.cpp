// Benchmark of `lethe eval` on one model: the batched evaluator (scoring sorted by length, batched
// KV-cache generation) next to the same evaluation one sequence at a time, in the same process.
// Usage: bench_eval MODEL_DIR DATA_DIR [max_new_tokens=32] [batch_size=16] [limit=0]
#include <cstdio>
#include <string>

#include "core/progress.h"
#include "eval/evaluator_run.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR DATA_DIR [max_new_tokens] [batch_size] [limit]\n",
                 argv[0]);
    return 2;
  }
  lethe::core::Progress::set_quiet(true);
  lethe::eval::EvalRunConfig config;
  config.model = argv[1];
  config.data = argv[2];
  config.options.max_new_tokens = argc > 3 ? std::stoll(argv[3]) : 32;
  config.options.batch_size = argc > 4 ? std::stoll(argv[4]) : 16;
  config.options.limit = argc > 5 ? std::stoll(argv[5]) : 0;
  try {
    for (const int64_t batch : {config.options.batch_size, int64_t{1}}) {
      auto c = config;
      c.options.batch_size = batch;
      const auto r = lethe::eval::run_evaluation(c);
      const auto& t = r["timing"];
      const double wall = t["wall_seconds"].get<double>();
      const double scored = t["scored_tokens"].get<double>();
      const double generated = t["generated_tokens"].get<double>();
      std::printf(
          "batch %-3lld wall %8.2f s  scored tokens %9.0f  generated tokens %7.0f  "
          "tokens/s %9.1f  (model utility %.4f)\n",
          static_cast<long long>(batch), wall, scored, generated, (scored + generated) / wall,
          r["models"]["base"]["aggregates"].value("model_utility", 0.0));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_eval: %s\n", e.what());
    return 1;
  }
  return 0;
}
