// The representation analysis stage (analysis/repr_run.h): per-layer drift of the unlearned models'
// hidden states from the fine-tuned model's, logit lens, linear probe and neuron-level change.
#include "analysis/repr_run.h"
#include "core/error.h"
#include "pipeline/stages.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace lethe::pipeline {

StageOutcome stage_repr(const RunContext& ctx, const std::string& inputs_sha,
                        const std::vector<std::string>& unlearned) {
  const ReprSection& r = ctx.config.repr;
  const auto selected = select_models(r.models, unlearned, ctx.config.unlearn);
  json key = ctx.config.document.at("repr");
  key.erase("models");  // the selected names are in the key instead
  // "neurons": the neuron-level change is part of the results, so a run resumed from results
  // written before it had the section recomputes them.
  StageSpec spec{"repr",
                 {"results/repr_results.json"},
                 {{"inputs", inputs_sha}, {"repr", key}, {"models", selected}, {"neurons", true}}};
  for (const auto& l : r.layers)
    if (l != "all") spec.outputs.push_back("results/repr_results_" + l + ".json");
  return run_stage(ctx.run_dir, spec, [&](const fs::path& tmp) {
    analysis::ReprConfig config;
    config.model = ctx.model;
    config.reference_adapter = model_dir(ctx, "finetuned").string();
    for (const auto& n : selected) {
      config.adapters.push_back(model_dir(ctx, n).string());
      config.names.push_back(n);
    }
    config.data = (ctx.run_dir / "data").string();
    config.out = (tmp / "results" / "repr_results.json").string();
    config.layers = r.layers;
    config.dtype = ctx.config.dtype;
    config.device = ctx.config.device;
    config.limit = r.limit;
    config.batch_size = r.batch_size;
    fs::create_directories(tmp / "results");
    analysis::run_repr(config);
    return std::to_string(selected.size()) + " models, layers " + json(r.layers).dump();
  });
}

}  // namespace lethe::pipeline
