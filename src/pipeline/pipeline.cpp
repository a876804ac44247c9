// The `lethe run` driver (see pipeline.h). Optional stages are compiled in when their area's
// sources are part of the build (LETHE_PIPELINE_HAS_* from src/pipeline/sources.cmake).
#include "pipeline/pipeline.h"

#include <torch/cuda.h>

#include <chrono>
#include <map>

#include "core/error.h"
#include "core/error_message.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "core/sha256.h"
#include "io/model_path.h"
#include "pipeline/run_config.h"
#include "pipeline/stages.h"
#include "report/aggregate.h"
#include "report/replication.h"
#if LETHE_PIPELINE_HAS_PLOTS
#include "report/report_writer.h"
#endif
#include "lethe_source_dir.h"
#include "train/config_file.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace lethe::pipeline {

// The optional stages of this build: null when their area's sources are not compiled in.
#if LETHE_PIPELINE_HAS_UNLEARN
constexpr auto* unlearn_fn = &stage_unlearn;
constexpr auto* relearn_fn = &stage_relearn;
#else
constexpr decltype(&stage_unlearn) unlearn_fn = nullptr;
constexpr decltype(&stage_relearn) relearn_fn = nullptr;
#endif
#if LETHE_PIPELINE_HAS_QUANT
constexpr auto* quantize_fn = &stage_quantize;
#else
constexpr decltype(&stage_quantize) quantize_fn = nullptr;
#endif
#if LETHE_PIPELINE_HAS_ANALYSIS
constexpr auto* repr_fn = &stage_repr;
#else
constexpr decltype(&stage_repr) repr_fn = nullptr;
#endif
#if LETHE_PIPELINE_HAS_PLOTS
constexpr auto* report_fn = &stage_plots;
#else
constexpr decltype(&stage_plots) report_fn = nullptr;
#endif
#if LETHE_PIPELINE_HAS_AUDIT
constexpr auto* audit_fn = &stage_audit;
#else
constexpr decltype(&stage_audit) audit_fn = nullptr;
#endif

std::vector<std::string> available_stages() {
  std::vector<std::string> out = {"data", "finetune", "retain_only", "eval"};
#if LETHE_PIPELINE_HAS_UNLEARN
  out.insert(out.end(), {"unlearn", "relearn"});
#endif
#if LETHE_PIPELINE_HAS_QUANT
  out.push_back("quantize");
#endif
#if LETHE_PIPELINE_HAS_ANALYSIS
  out.push_back("repr");
#endif
#if LETHE_PIPELINE_HAS_PLOTS
  out.push_back("report");
#endif
#if LETHE_PIPELINE_HAS_AUDIT
  out.push_back("audit");
#endif
  return out;
}

static StageOutcome unavailable(const std::string& name, const std::string& why) {
  StageOutcome o;
  o.name = name;
  o.status = "unavailable";
  o.detail = why;
  return o;
}

static std::string hashes(std::initializer_list<const StageOutcome*> stages) {
  std::string text;
  for (const auto* s : stages) text += s->name + ":" + s->outputs_sha256 + ";";
  return core::sha256_hex(text);
}

// The replication claims of one finished run folder, from its within-seed bootstrap; empty when
// it has no evaluation results.
static std::string single_run_replication(const fs::path& run_dir, uint64_t seed) {
  if (!fs::exists(run_dir / "results" / "eval_results.json")) return "";
  try {
    const json aggregate =
        report::build_aggregate({{seed, run_dir}}, report::default_aggregate_bootstrap());
    return report::replication_text(report::replication_claims(aggregate), 1);
  } catch (const std::exception& e) {
    // The study's results are written; a result file the aggregate cannot read only costs the
    // section.
    return "replication: unavailable (" + core::error_message(e) + ")\n";
  }
}

// One complete run of the study into `out` with a resolved, validated config (no `seeds`).
static RunSummary run_one(const RunOptions& options, const json& config, const ConfigOrigin& origin,
                          const fs::path& out) {
  const auto start = std::chrono::steady_clock::now();
  RunContext ctx;
  ctx.run_dir = out;
  ctx.config = parse_run_config(config, origin);
  ctx.model = ctx.config.model;
  const std::string hint =
      "; build lethe's base model with `lethe pretrain --config configs/pretrain_lethe_base.yaml`, "
      "or set model: in the config (or --model)";
  fs::path model_folder;
  try {
    model_folder = io::resolve_model_path(ctx.model);
  } catch (const std::exception& e) {
    LETHE_FAIL("model '", ctx.model, "' not found (", e.what(), ")", hint);
  }
  LETHE_CHECK(fs::exists(model_folder / "config.json"), "model '", ctx.model,
              "': no config.json in ", model_folder.string(), hint);
  ctx.model_sha256 = model_fingerprint(ctx.model);
  fs::create_directories(ctx.run_dir);
  train::write_config_file(ctx.run_dir / "config.yaml", config);
  core::seed_everything(ctx.config.seed);

  RunSummary summary;
  summary.run_dir = ctx.run_dir;
  const auto available = available_stages();
  auto has = [&](const std::string& s) {
    return std::find(available.begin(), available.end(), s) != available.end();
  };
  const std::vector<std::string> order = {"data",    "finetune", "retain_only", "unlearn", "eval",
                                          "relearn", "quantize", "repr",        "report",  "audit"};
  core::Progress progress("run", static_cast<int64_t>(order.size()));
  auto record = [&](StageOutcome outcome) {
    summary.stages.push_back(outcome);
    progress.update(static_cast<int64_t>(summary.stages.size()),
                    outcome.name + " " + outcome.status);
    return outcome;
  };
  auto not_built = [](const std::string& area) {
    return "stage unavailable: its library (src/" + area + ") is not in this build";
  };

  const auto data = record(stage_data(ctx));
  const auto finetune = record(stage_finetune(ctx, data.outputs_sha256, false));
  const auto retain = record(stage_finetune(ctx, data.outputs_sha256, true));
  std::vector<std::string> unlearned;
  StageOutcome unlearn;
  if (has("unlearn"))
    unlearn = record(unlearn_fn(ctx, hashes({&data, &finetune}), &unlearned));
  else
    unlearn = record(unavailable("unlearn", not_built("train/unlearn")));
  const auto eval =
      record(stage_eval(ctx, hashes({&data, &finetune, &retain, &unlearn}), unlearned));
  const std::string eval_sha = hashes({&data, &finetune, &retain, &unlearn, &eval});

  // After the evaluation a failing stage is reported and the others still run.
  auto guarded = [&](const std::string& name, const std::function<StageOutcome()>& body) {
    try {
      return record(body());
    } catch (const std::exception& e) {
      StageOutcome o;
      o.name = name;
      o.status = "failed";
      o.detail = core::error_message(e);
      ++summary.failed;
      return record(o);
    }
  };
  const char* no_models = "stage unavailable: no unlearned models (the unlearn stage did not run)";
  StageOutcome relearn, quantize, repr;
  if (!has("relearn"))
    relearn = record(unavailable("relearn", not_built("train/relearn")));
  else if (unlearned.empty())
    relearn = record(unavailable("relearn", no_models));
  else
    relearn = guarded("relearn", [&] { return relearn_fn(ctx, eval_sha, unlearned); });
  if (!has("quantize"))
    quantize = record(unavailable("quantize", not_built("quant")));
  else if (unlearned.empty())
    quantize = record(unavailable("quantize", no_models));
  else
    quantize = guarded("quantize", [&] { return quantize_fn(ctx, eval_sha, unlearned); });
  if (!has("repr"))
    repr = record(unavailable("repr", not_built("analysis")));
  else if (unlearned.empty())
    repr = record(unavailable("repr", no_models));
  else
    repr = guarded("repr", [&] { return repr_fn(ctx, eval_sha, unlearned); });
  if (has("report"))
    guarded("report", [&] { return report_fn(ctx, hashes({&eval, &relearn, &quantize, &repr})); });
  else
    record(unavailable("report", not_built("report")));
  // One audit record per unlearned model; robustness only from the stages that ran in this run.
  StageOutcome audit;
  if (!has("audit")) {
    audit = record(unavailable("audit", not_built("report")));
  } else if (unlearned.empty()) {
    audit = record(unavailable("audit", no_models));
  } else {
    std::vector<std::string> measured;
    for (const auto* s : {&relearn, &quantize, &repr})
      if (s->status == "done" || s->status == "reused") measured.push_back(s->name);
    audit = guarded("audit", [&] {
      return audit_fn(ctx, hashes({&data, &finetune, &unlearn, &eval, &relearn, &quantize, &repr}),
                      unlearned, measured);
    });
  }
  progress.finish();

  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const fs::path eval_file = ctx.run_dir / "results" / "eval_results.json";
  if (fs::exists(eval_file)) summary.rows = report::summary_rows(core::read_json(eval_file));
  if (fs::exists(ctx.run_dir / "report.html")) summary.report = ctx.run_dir / "report.html";
  if ((audit.status == "done" || audit.status == "reused") &&
      fs::exists(ctx.run_dir / "audit.jsonl")) {
    summary.audit = ctx.run_dir / "audit.jsonl";
    summary.audit_records = core::read_jsonl(summary.audit).size();
  }

  json run = {{"seed", config["seed"]},
              {"profile", options.quick ? "quick" : "default"},
              {"config_file", options.config_file ? options.config_file->string() : ""},
              {"lethe_version", LETHE_VERSION},
              {"seconds", summary.seconds},
              {"stages", json::array()}};
  for (const auto& s : summary.stages)
    run["stages"].push_back(
        {{"name", s.name}, {"status", s.status}, {"detail", s.detail}, {"seconds", s.seconds}});
  core::write_json(ctx.run_dir / "run.json", run);
  return summary;
}

RunSummary run_pipeline(const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  // The whole config is resolved and checked before anything is written or any stage runs.
  ConfigOrigin origin;
  json config = resolve_run_config(options.config_file, options.quick, &origin);
  if (options.model) config["model"] = *options.model;
  if (options.seeds) config["seeds"] = *options.seeds;
  if (config["device"] == "auto") config["device"] = torch::cuda::is_available() ? "cuda" : "cpu";
  // "auto" is resolved here so that config.yaml records the dtype the run computed in.
  if (config["dtype"] == "auto")
    config["dtype"] = core::dtype_name(
        core::parse_dtype("auto", core::parse_device(config["device"].get<std::string>())));
  // The shipped base model is named relative to the repository (models/lethe-base): found from any
  // working directory through the source tree lethe was built from.
  const std::string named = config["model"].get<std::string>();
  if (fs::path(named).is_relative() && !fs::exists(named) &&
      fs::exists(fs::path(LETHE_SOURCE_DIR) / named / "config.json"))
    config["model"] = (fs::path(LETHE_SOURCE_DIR) / named).string();
  const RunConfig parsed = parse_run_config(config, origin);

  if (!parsed.seeds) {
    RunSummary summary = run_one(options, config, origin, options.out);
    summary.replication = single_run_replication(options.out, parsed.seed);
    return summary;
  }

  // Several seeds: seed, seed+1, ... each a normal run in OUT/seed-S/ (a rerun reuses its finished
  // stages), then the aggregate over them.
  fs::create_directories(options.out);
  train::write_config_file(options.out / "config.yaml", config);
  RunSummary summary;
  summary.run_dir = options.out;
  std::vector<report::SeedRun> seed_runs;
  for (int64_t i = 0; i < *parsed.seeds; ++i) {
    const uint64_t seed = parsed.seed + static_cast<uint64_t>(i);
    json seed_config = config;
    seed_config.erase("seeds");
    seed_config["seed"] = seed;
    const fs::path dir = options.out / ("seed-" + std::to_string(seed));
    std::fprintf(stderr, "run: seed %llu (%lld of %lld) in %s\n",
                 static_cast<unsigned long long>(seed), static_cast<long long>(i + 1),
                 static_cast<long long>(*parsed.seeds), dir.string().c_str());
    RunSummary one = run_one(options, seed_config, origin, dir);
    summary.failed += one.failed;
    summary.seeds.push_back({seed, dir, one.stages});
    seed_runs.push_back({seed, dir});
  }

  StageOutcome aggregate;
  aggregate.name = "aggregate";
  const auto aggregate_start = std::chrono::steady_clock::now();
  const json doc = report::build_aggregate(seed_runs, report::default_aggregate_bootstrap());
  summary.aggregate = options.out / "aggregate.json";
  core::write_json(summary.aggregate, doc);
  aggregate.status = "done";
  aggregate.detail = std::to_string(doc["models"].size()) + " models over " +
                     std::to_string(seed_runs.size()) + " seeds: aggregate.json";
  aggregate.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - aggregate_start).count();
  summary.stages.push_back(aggregate);
  summary.rows = report::summary_rows_from_aggregate(doc);
  summary.replication = report::replication_text(report::replication_claims(doc),
                                                 static_cast<int64_t>(seed_runs.size()));
#if LETHE_PIPELINE_HAS_PLOTS
  StageOutcome page;
  page.name = "report";
  try {
    const auto written = report::write_report(options.out, {});
    page.status = "done";
    page.detail = std::to_string(written.images.size()) + " charts";
    summary.report = written.html;
  } catch (const std::exception& e) {
    page.status = "failed";
    page.detail = core::error_message(e);
    ++summary.failed;
  }
  summary.stages.push_back(page);
#endif

  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  json run = {{"seed", parsed.seed},
              {"seeds", json::array()},
              {"profile", options.quick ? "quick" : "default"},
              {"config_file", options.config_file ? options.config_file->string() : ""},
              {"lethe_version", LETHE_VERSION},
              {"seconds", summary.seconds},
              {"stages", json::array()}};
  for (const auto& s : summary.seeds) {
    json stages = json::array();
    for (const auto& st : s.stages) stages.push_back({{"name", st.name}, {"status", st.status}});
    run["seeds"].push_back(
        {{"seed", s.seed}, {"folder", s.run_dir.filename().string()}, {"stages", stages}});
  }
  for (const auto& s : summary.stages)
    run["stages"].push_back(
        {{"name", s.name}, {"status", s.status}, {"detail", s.detail}, {"seconds", s.seconds}});
  core::write_json(options.out / "run.json", run);
  return summary;
}

std::string format_run_summary(const RunSummary& summary) {
  std::string out;
  char line[1024];
  for (const auto& seed : summary.seeds) {
    std::map<std::string, int> count;
    for (const auto& s : seed.stages) ++count[s.status];
    std::string counts;
    for (const auto& [status, n] : count)
      counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + status;
    out +=
        "seed " + std::to_string(seed.seed) + " (" + seed.run_dir.string() + "): " + counts + "\n";
    for (const auto& s : seed.stages)
      if (s.status == "failed") out += "  " + s.name + " failed: " + s.detail + "\n";
  }
  out += summary.seeds.empty() ? "stages:\n" : "aggregate:\n";
  for (const auto& s : summary.stages) {
    std::snprintf(line, sizeof line, "  %-12s %-11s %7s  %s\n", s.name.c_str(), s.status.c_str(),
                  s.status == "done" ? core::format_duration(s.seconds).c_str() : "",
                  s.detail.c_str());
    out += line;
  }
  out += "\n" + report::summary_text(summary.rows);
  if (!summary.replication.empty()) out += "\n" + summary.replication;
  out += "\nrun folder: " + summary.run_dir.string() + " (" +
         core::format_duration(summary.seconds) + ")\n";
  out += summary.report.empty() ? "report: unavailable (no report.html in this build)\n"
                                : "report: " + summary.report.string() + "\n";
  if (!summary.aggregate.empty()) out += "aggregate: " + summary.aggregate.string() + "\n";
  if (!summary.seeds.empty()) return out;  // audit records: one ledger per seed folder
  out += summary.audit.empty()
             ? "audit: unavailable (no audit records written)\n"
             : "audit: " + summary.audit.string() + " (" + std::to_string(summary.audit_records) +
                   " records; check with `lethe audit " + summary.audit.string() + " --verify`)\n";
  return out;
}

}  // namespace lethe::pipeline
