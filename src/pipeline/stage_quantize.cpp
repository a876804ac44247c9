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
  json section = ctx.config["quantize"];
  const auto selected =
      select_models(section.value("models", json("heavy")), unlearned, ctx.config);
  section.erase("models");
  StageSpec spec{"quantize",
                 {"results/quantize_results.json"},
                 {{"inputs", inputs_sha}, {"quantize", section}, {"models", selected}}};
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
    config.dtype = ctx.config["dtype"];
    config.device = ctx.config["device"];
    const json& eval = ctx.config["eval"];
    config.options.max_new_tokens = eval.value("max_new_tokens", int64_t{32});
    config.options.batch_size = eval.value("batch_size", int64_t{64});
    config.options.limit = eval.value("limit", int64_t{0});
    for (auto it = section.begin(); it != section.end(); ++it) {
      const auto& k = it.key();
      if (k == "schemes")
        config.schemes = it.value().get<std::vector<std::string>>();
      else if (k == "calibration_questions")
        config.calibration_questions = it.value();
      else if (k == "include_base")
        config.include_base = it.value();
      else if (k == "limit")
        config.options.limit = it.value();
      else
        LETHE_FAIL("config quantize: unknown key '", k,
                   "' (valid: schemes calibration_questions include_base limit models)");
    }
    fs::create_directories(tmp / "results");
    quant::run_quantize_eval(config);
    return std::to_string(selected.size()) + " models x " + std::to_string(config.schemes.size()) +
           " schemes";
  });
}

}  // namespace lethe::pipeline
