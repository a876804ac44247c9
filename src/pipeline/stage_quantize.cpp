// The quantization stress test stage (quant/quantize_eval.h): do the unlearned models' forgotten
// answers come back after 8/4-bit quantization?
#include "core/error.h"
#include "pipeline/stages.h"
#include "quant/quantize_eval.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace lethe::pipeline {

StageOutcome stage_quantize(const RunContext& ctx, const std::string& inputs_sha,
                            const std::vector<std::string>& unlearned) {
  const QuantizeSection& q = ctx.config.quantize;
  const auto selected = select_models(q.models, unlearned, ctx.config.unlearn);
  json key = ctx.config.document.at("quantize");
  key.erase("models");  // the selected names are in the key instead
  StageSpec spec{"quantize",
                 {"results/quantize_results.json"},
                 {{"inputs", inputs_sha}, {"quantize", key}, {"models", selected}}};
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    quant::QuantizeEvalConfig config;
    config.model = ctx.model;
    for (const auto& n : selected) {
      config.adapters.push_back(model_dir(ctx, n).string());
      config.names.push_back(n);
    }
    config.reference_adapter = model_dir(ctx, "finetuned").string();
    config.data = (ctx.run_dir / "data").string();
    config.out = (tmp / "results" / "quantize_results.json").string();
    config.dtype = ctx.config.dtype;
    config.device = ctx.config.device;
    // Generation and batching as in the evaluation; quantize.limit may narrow the question sets.
    config.options.max_new_tokens = ctx.config.eval.max_new_tokens;
    config.options.batch_size = ctx.config.eval.batch_size;
    config.options.limit = q.limit.value_or(ctx.config.eval.limit);
    config.schemes = q.schemes;
    config.calibration_questions = q.calibration_questions;
    config.include_base = q.include_base;
    fs::create_directories(tmp / "results");
    quant::run_quantize_eval(config);
    return std::to_string(selected.size()) + " models x " + std::to_string(config.schemes.size()) +
           " schemes";
  });
}

}  // namespace lethe::pipeline
