// `lethe run` building blocks: config profiles and validation, resumable atomic stages, the summary
// table, and the command's one-line errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "expect_close.h"
#include "lethe_source_dir.h"
#include "model/model_config.h"
#include "pipeline/run_config.h"
#include "pipeline/stage.h"
#include "report/summary_table.h"
#include "train/config_file.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace lethe;

static std::string repo_file(const std::string& rel) {
  return std::string(LETHE_SOURCE_DIR) + "/" + rel;
}

TEST(PipelineConfig, ShippedYamlProfilesMatchTheBuiltInOnes) {
  // configs/default.yaml documents the built-in default; configs/quick.yaml is default + --quick.
  EXPECT_EQ(train::read_config_file(repo_file("configs/default.yaml")),
            pipeline::default_run_config());
  EXPECT_EQ(pipeline::merge_config(pipeline::default_run_config(),
                                   train::read_config_file(repo_file("configs/quick.yaml"))),
            pipeline::resolve_run_config(std::nullopt, true));
  const json qwen = pipeline::resolve_run_config(
      fs::path(repo_file("configs/qwen2.5-1.5b-instruct.yaml")), false);
  EXPECT_EQ(qwen["model"], "Qwen/Qwen2.5-1.5B-Instruct");
  EXPECT_EQ(qwen["dtype"], "bfloat16");
  EXPECT_EQ(qwen["finetune"]["lora"]["r"], 8);
}

// configs/curve.yaml (issue 19's intensity curve): the default with eight intensities, 1 to 40
// epochs, for GA, GD and NPO; each method's run is exported at all eight, and the quantization,
// relearning and analysis stages take the 40-epoch models.
TEST(PipelineConfig, CurveProfileHasEightIntensitiesPerMethod) {
  const auto config = pipeline::parse_run_config(
      pipeline::resolve_run_config(fs::path(repo_file("configs/curve.yaml")), false), {});
  std::vector<int64_t> epochs;
  for (const auto& [label, e] : config.unlearn.intensities) epochs.push_back(e);
  std::sort(epochs.begin(), epochs.end());
  EXPECT_EQ(epochs, (std::vector<int64_t>{1, 2, 5, 10, 15, 20, 30, 40}));
  std::vector<std::string> methods;
  for (const auto& m : config.unlearn.methods) methods.push_back(m.name);
  EXPECT_EQ(methods, (std::vector<std::string>{"grad_ascent", "grad_diff", "npo"}));
  const auto names = pipeline::unlearn_model_names(config.unlearn);
  ASSERT_EQ(names.size(), 24u);
  EXPECT_EQ(names.front(), "unlearn_grad_ascent_ep1");
  EXPECT_EQ(names[7], "unlearn_grad_ascent_ep40");
  EXPECT_EQ(pipeline::select_models(config.quantize.models, names, config.unlearn),
            (std::vector<std::string>{"unlearn_grad_ascent_ep40", "unlearn_grad_diff_ep40",
                                      "unlearn_npo_ep40"}));
  // Everything but the intensities is the default profile's.
  json rest = pipeline::resolve_run_config(fs::path(repo_file("configs/curve.yaml")), false);
  json def = pipeline::default_run_config();
  rest["unlearn"].erase("intensities");
  def["unlearn"].erase("intensities");
  EXPECT_EQ(rest, def);
}

// The deep profile (issue 19 item 4) is the default study on the shipped 12-layer base: only the
// model differs, and that model has 12 layers (so "middle" is layer 6, as layer 14 of 28).
TEST(PipelineConfig, DeepProfileIsTheDefaultOnTheTwelveLayerBase) {
  json deep = pipeline::resolve_run_config(fs::path(repo_file("configs/deep.yaml")), false);
  EXPECT_EQ(deep["model"], "models/lethe-base-12l");
  json def = pipeline::default_run_config();
  deep.erase("model");
  def.erase("model");
  EXPECT_EQ(deep, def);
  const auto config = model::ModelConfig::from_file(repo_file("models/lethe-base-12l/config.json"));
  EXPECT_EQ(config.num_hidden_layers, 12);
  EXPECT_EQ(config.vocab_size, 2048);
}

// The error of resolving `text` as a --config file ("" when it resolves).
static std::string config_error(const fs::path& dir, const std::string& text) {
  core::write_file_atomic(dir / "c.yaml", text);
  try {
    pipeline::resolve_run_config(dir / "c.yaml", false);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PipelineConfig, EveryValueIsCheckedWithFileLineAndKeyPath) {
  const fs::path dir = test::make_temp_dir("pipeline_config_checks");
  const std::string f = (dir / "c.yaml").string();
  // yaml-cpp keeps the last of two equal keys silently: the loader names both lines.
  EXPECT_EQ(config_error(dir, "seed: 1\nfinetune:\n  epochs: 2\n  epochs: 3\n"),
            f + ":4: finetune.epochs: duplicate key (first given at line 3)");
  EXPECT_EQ(config_error(dir, "finetune:\n  epochs: -1\n"),
            f + ":2: finetune.epochs: must be an integer >= 1, got -1");
  EXPECT_EQ(config_error(dir, "unlearn:\n  learning_rate: .nan\n"),
            f + ":2: unlearn.learning_rate: must be a finite number > 0, got \".nan\"");
  EXPECT_EQ(config_error(dir, "eval:\n  batch_size: many\n"),
            f + ":2: eval.batch_size: must be an integer >= 1, got \"many\"");
  EXPECT_EQ(config_error(dir, "retain_only:\n  lora: {r: 0}\n"),
            f + ":2: retain_only.lora.r: must be an integer >= 1, got 0");
  const std::string unknown =
      config_error(dir, "unlearn:\n  methods:\n    npo: {}\n    forget_all: {}\n");
  EXPECT_EQ(unknown.rfind(f + ":4: unlearn.methods.forget_all: unknown method 'forget_all'", 0), 0u)
      << unknown;
  EXPECT_EQ(config_error(dir, "unlearn:\n  methods:\n    npo: {beta: -1}\n")
                .rfind(f + ":3: unlearn.methods.npo.beta:", 0),
            0u);
  EXPECT_EQ(config_error(dir, "unlearn:\n  methods:\n    npo: {gamma: 1}\n")
                .rfind(f + ":3: unlearn.methods.npo.gamma: not a parameter of npo", 0),
            0u);
  EXPECT_EQ(
      config_error(dir, "quantize:\n  models: [unlearn_npo_huge]\n")
          .rfind(f + ":2: quantize.models.0: 'unlearn_npo_huge' is not an unlearned model", 0),
      0u);
  EXPECT_EQ(config_error(dir, "data:\n  sf_per_target: 9\n").rfind(f + ":", 0), 0u);
  EXPECT_EQ(config_error(dir, "unlearn:\n  epochs: 3\n")
                .rfind(f + ":2: unlearn.epochs: set by unlearn.intensities", 0),
            0u);
  EXPECT_EQ(config_error(dir, "finetune:\n  dtype: bfloat16\n")
                .rfind(f + ":2: finetune.dtype: set at the top level", 0),
            0u);
  EXPECT_EQ(config_error(dir, "relearn:\n  set: everything\n")
                .rfind(f + ":2: relearn.set: must be one of", 0),
            0u);
  EXPECT_EQ(config_error(dir, "seed: 3\nfinetune:\n  epochs: 2\n"), "");
  EXPECT_EQ(config_error(dir, "dtype: auto\n"), "");
  EXPECT_EQ(config_error(dir, "dtype: bf8\n").rfind(f + ":1: dtype: must be one of", 0), 0u)
      << config_error(dir, "dtype: bf8\n");
  fs::remove_all(dir);
}

TEST(PipelineConfig, SeedsIsAnOptionalCountOfAtLeastOne) {
  const fs::path dir = test::make_temp_dir("pipeline_config_seeds");
  const std::string f = (dir / "c.yaml").string();
  EXPECT_EQ(config_error(dir, "seeds: 0\n"), f + ":1: seeds: must be an integer >= 1, got 0");
  EXPECT_EQ(config_error(dir, "seeds: three\n"),
            f + ":1: seeds: must be an integer >= 1, got \"three\"");
  EXPECT_EQ(config_error(dir, "seeds: 5000\n"), f + ":1: seeds: must be at most 1000, got 5000");
  EXPECT_EQ(config_error(dir, "seeds: 3\n"), "");
  core::write_file_atomic(dir / "c.yaml", "seeds: 3\n");
  EXPECT_EQ(pipeline::parse_run_config(pipeline::resolve_run_config(dir / "c.yaml", false), {})
                .seeds.value_or(-1),
            3);
  // Without the key a run is one seed in OUT, as before.
  EXPECT_FALSE(
      pipeline::parse_run_config(pipeline::resolve_run_config(std::nullopt, false), {}).seeds);
  fs::remove_all(dir);
}

// unlearn.eval_every / stop_when: typed, the criterion parsed with its FILE:LINE, and carried into
// every method's UnlearnConfig; absent, the resolved document is the profile's.
TEST(PipelineConfig, UnlearnStopWhenIsCheckedAndReachesEveryMethod) {
  const fs::path dir = test::make_temp_dir("pipeline_stop_when");
  const std::string f = (dir / "c.yaml").string();
  EXPECT_EQ(config_error(dir, "unlearn:\n  eval_every: 5\n  stop_when: \"forget_rouge_l <= x\"\n"),
            f + ":3: unlearn.stop_when: --stop-when: at position 19: expected a number after '<=', "
                "got 'x'");
  EXPECT_EQ(
      config_error(dir, "unlearn:\n  eval_every: 5\n  stop_when: \"rouge <= 0.2\"\n")
          .rfind(f + ":3: unlearn.stop_when: --stop-when: unknown key 'rouge' at position 1", 0),
      0u);
  EXPECT_EQ(config_error(dir, "unlearn:\n  stop_when: \"forget_rouge_l <= 0.2\"\n"),
            f + ":2: unlearn.stop_when: needs unlearn.eval_every > 0 (the criterion is checked at "
                "each evaluation)");
  EXPECT_EQ(config_error(dir, "unlearn:\n  eval_every: -1\n"),
            f + ":2: unlearn.eval_every: must be an integer >= 0, got -1");
  core::write_file_atomic(dir / "ok.yaml",
                          "unlearn:\n  eval_every: 4\n  eval_limit: 8\n  stop_when: "
                          "\"forget_rouge_l <= 0.2 and retain_rouge_l >= 0.9\"\n");
  const auto config =
      pipeline::parse_run_config(pipeline::resolve_run_config(dir / "ok.yaml", false), {});
  ASSERT_FALSE(config.unlearn.methods.empty());
  for (const auto& m : config.unlearn.methods) {
    EXPECT_EQ(m.config.train.eval_every, 4) << m.name;
    EXPECT_EQ(m.config.train.eval_limit, 8) << m.name;
    EXPECT_EQ(m.config.train.stop_when, "forget_rouge_l <= 0.2 and retain_rouge_l >= 0.9");
  }
  const auto plain =
      pipeline::parse_run_config(pipeline::resolve_run_config(std::nullopt, false), {});
  for (const auto& m : plain.unlearn.methods) {
    EXPECT_EQ(m.config.train.eval_every, 0) << m.name;
    EXPECT_FALSE(train::unlearn_config_to_json(m.config).contains("eval_every")) << m.name;
  }
  fs::remove_all(dir);
}

TEST(PipelineConfig, TheProfilesParseToTheValuesTheStagesUsedBefore) {
  // The typed sections hold what the stages built from the JSON before the typed parse.
  const pipeline::RunConfig d =
      pipeline::parse_run_config(train::read_config_file(repo_file("configs/default.yaml")), {});
  EXPECT_EQ(d.seed, 42u);
  EXPECT_EQ(d.data.targets, 10);
  EXPECT_EQ(d.data.world_country_qa, 60);
  EXPECT_EQ(d.data.world_person_qa, 1);  // the generator's default (not in the profile)
  EXPECT_EQ(d.finetune.train.epochs, 20);
  EXPECT_DOUBLE_EQ(d.finetune.train.schedule.lr, 1e-3);
  EXPECT_EQ(d.finetune.lora.r, 16);
  EXPECT_EQ(d.finetune.train.seed, 42u);
  EXPECT_FALSE(d.retain_only.retain_only);  // the stage sets it
  EXPECT_EQ(d.unlearn.intensities.at("heavy"), 20);
  ASSERT_EQ(d.unlearn.methods.size(), 3u);
  EXPECT_EQ(d.unlearn.methods[2].name, "npo");
  EXPECT_EQ(d.unlearn.methods[2].params, json({{"beta", 0.1}}));
  EXPECT_EQ(d.unlearn.methods[2].config.train.objective, "npo");
  EXPECT_DOUBLE_EQ(d.unlearn.methods[2].config.train.objective_params.at("beta"), 0.1);
  EXPECT_EQ(d.unlearn.methods[2].config.train.epochs, 20);
  EXPECT_EQ(d.unlearn.methods[2].config.train.save_epochs, (std::vector<int64_t>{5, 10, 20}));
  EXPECT_DOUBLE_EQ(d.unlearn.methods[0].config.train.schedule.lr, 1e-4);
  EXPECT_EQ(pipeline::unlearn_model_names(d.unlearn).front(), "unlearn_grad_ascent_light");
  EXPECT_EQ(d.eval.batch_size, 64);
  EXPECT_EQ(d.eval.max_new_tokens, 32);
  EXPECT_EQ(d.quantize.schemes, (std::vector<std::string>{"int8", "int4_g128_sym", "nf4"}));
  EXPECT_EQ(d.relearn.steps, (std::vector<int64_t>{5, 10, 20}));
  EXPECT_EQ(d.relearn.batch_size, 4);  // the library's default
  EXPECT_EQ(d.repr.models.mode, "all");
  EXPECT_EQ(d.document, pipeline::resolve_run_config(std::nullopt, false));
  const pipeline::RunConfig q =
      pipeline::parse_run_config(pipeline::resolve_run_config(std::nullopt, true), {});
  EXPECT_EQ(q.finetune.train.epochs, 10);
  EXPECT_EQ(q.unlearn.methods[0].config.train.epochs, 4);
  EXPECT_EQ(q.eval.limit, 20);
  EXPECT_EQ(q.repr.layers, (std::vector<std::string>{"last", "all"}));
}

TEST(PipelineCommand, AnUnknownMethodFailsBeforeAnyStageWritesAnything) {
  const fs::path dir = test::make_temp_dir("pipeline_cli_method");
  core::write_file_atomic(dir / "c.yaml", "unlearn:\n  methods:\n    forget_all: {}\n");
  std::string output;
  EXPECT_EQ(test::run_lethe(
                "run --config " + (dir / "c.yaml").string() + " --out " + (dir / "run").string(),
                &output),
            1);
  EXPECT_NE(output.find("c.yaml:3: unlearn.methods.forget_all: unknown method"), std::string::npos)
      << output;
  EXPECT_FALSE(fs::exists(dir / "run" / "data"));
  EXPECT_FALSE(fs::exists(dir / "run"));
  fs::remove_all(dir);
}

TEST(PipelineConfig, MergeReplacesMethodTablesAndMergesSections) {
  const json merged = pipeline::merge_config(
      pipeline::default_run_config(),
      json::parse(R"({"unlearn": {"methods": {"npo": {"beta": 0.2}}, "learning_rate": 2e-5}})"));
  EXPECT_EQ(merged["unlearn"]["methods"].size(), 1u);
  EXPECT_EQ(merged["unlearn"]["methods"]["npo"]["beta"], 0.2);
  EXPECT_EQ(merged["unlearn"]["learning_rate"], 2e-5);
  EXPECT_EQ(merged["unlearn"]["intensities"]["heavy"], 20);  // untouched keys stay
  EXPECT_EQ(merged["finetune"]["lora"]["r"], 16);
}

TEST(PipelineConfig, BadFilesGiveOneLineErrorsNamingFileAndKey) {
  const fs::path dir = test::make_temp_dir("pipeline_config");
  core::write_file_atomic(dir / "typo.yaml", "seed: 1\nfinetun:\n  epochs: 2\n");
  try {
    pipeline::resolve_run_config(dir / "typo.yaml", false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("typo.yaml"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("typo.yaml:2: finetun: unknown key"), std::string::npos)
        << e.what();
  }
  core::write_file_atomic(dir / "bad.yaml", "unlearn:\n  intensities: {light: 0}\n");
  EXPECT_THROW(pipeline::resolve_run_config(dir / "bad.yaml", false), Error);
  core::write_file_atomic(dir / "empty.yaml", "unlearn:\n  methods: {}\n");
  EXPECT_THROW(pipeline::resolve_run_config(dir / "empty.yaml", false), Error);
  fs::remove_all(dir);
}

TEST(PipelineStage, ReusesWhenKeyAndOutputsMatchAndRerunsOtherwise) {
  const fs::path run = test::make_temp_dir("pipeline_stage");
  int calls = 0;
  pipeline::StageSpec spec{"s", {"results/a.json", "models/x"}, {{"lr", 1e-4}}};
  auto body = [&](const fs::path& tmp) {
    ++calls;
    core::write_json(tmp / "results" / "a.json", json{{"calls", calls}});
    core::write_file_atomic(tmp / "models" / "x" / "w.txt", "weights");
    return std::string("ok");
  };
  auto first = pipeline::run_stage(run, spec, body);
  EXPECT_EQ(first.status, "done");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(fs::exists(run / "results" / "a.json"));
  EXPECT_TRUE(fs::exists(run / "models" / "x" / "w.txt"));
  EXPECT_FALSE(fs::exists(run / "stages" / "s.partial"));
  const auto mtime = fs::last_write_time(run / "results" / "a.json");

  auto second = pipeline::run_stage(run, spec, body);
  EXPECT_EQ(second.status, "reused");
  EXPECT_EQ(second.outputs_sha256, first.outputs_sha256);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(fs::last_write_time(run / "results" / "a.json"), mtime);

  spec.key["lr"] = 2e-4;  // config changed
  EXPECT_EQ(pipeline::run_stage(run, spec, body).status, "done");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(core::read_json(run / "results" / "a.json")["calls"], 2);

  core::write_file_atomic(run / "models" / "x" / "w.txt", "edited");  // output changed on disk
  EXPECT_EQ(pipeline::run_stage(run, spec, body).status, "done");
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(core::read_file(run / "models" / "x" / "w.txt"), "weights");
  fs::remove_all(run);
}

TEST(PipelineStage, AnInterruptedStageLeavesNoOutputAndNoRecord) {
  const fs::path run = test::make_temp_dir("pipeline_stage_fail");
  pipeline::StageSpec spec{"s", {"results/a.json"}, {{"k", 1}}};
  EXPECT_THROW(pipeline::run_stage(run, spec,
                                   [](const fs::path& tmp) -> std::string {
                                     core::write_json(tmp / "results" / "a.json", json::object());
                                     LETHE_FAIL("killed");
                                   }),
               Error);
  EXPECT_FALSE(fs::exists(run / "results" / "a.json"));
  EXPECT_TRUE(pipeline::read_stage_done(run, "s").is_null());
  // A body that forgets an output is an error naming it, and nothing is recorded.
  try {
    pipeline::run_stage(run, spec, [](const fs::path&) { return std::string(); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("results/a.json"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(pipeline::read_stage_done(run, "s").is_null());
  // The next run starts clean from the partial folder and succeeds.
  auto ok = pipeline::run_stage(run, spec, [](const fs::path& tmp) {
    core::write_json(tmp / "results" / "a.json", json{{"ok", true}});
    return std::string("fine");
  });
  EXPECT_EQ(ok.status, "done");
  EXPECT_EQ(pipeline::read_stage_done(run, "s")["detail"], "fine");
  fs::remove_all(run);
}

TEST(PipelineSummary, RowsComeFromTheEvaluationAggregates) {
  const json eval = json::parse(R"({"models": {
    "finetuned": {"aggregates": {"forget": {"rouge_l_recall": 0.9, "truth_ratio": 0.4},
                                 "retain_correlated": {"rouge_l_recall": 0.8},
                                 "retain_other": {"rouge_l_recall": 0.85},
                                 "retain_gap": {"rouge_l_recall": 0.05},
                                 "model_utility": 0.5, "forget_quality": 1e-5}},
    "unlearn_npo_heavy": {"aggregates": {"forget": {"rouge_l_recall": 0.1},
                                         "retain_correlated": {"rouge_l_recall": 0.3},
                                         "retain_other": {"rouge_l_recall": 0.6}}}}})");
  const auto rows = report::summary_rows(eval);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].model, "finetuned");
  EXPECT_DOUBLE_EQ(*rows[0].forget_rouge_l, 0.9);
  EXPECT_DOUBLE_EQ(*rows[0].forget_quality, 1e-5);
  EXPECT_DOUBLE_EQ(*rows[1].retain_gap, 0.3);  // other - correlated when the file has no gap
  EXPECT_FALSE(rows[1].model_utility.has_value());
  const std::string table = report::summary_text(rows);
  EXPECT_NE(table.find("unlearn_npo_heavy"), std::string::npos);
  EXPECT_NE(table.find("0.900"), std::string::npos);
  EXPECT_NE(table.find("1.00e-05"), std::string::npos);
}

TEST(PipelineCommand, MissingModelAndBadConfigAreOneLineErrors) {
  const fs::path dir = test::make_temp_dir("pipeline_cli");
  std::string output;
  EXPECT_EQ(test::run_lethe("--quiet run --quick --model " + (dir / "nope").string() + " --out " +
                                (dir / "run").string(),
                            &output),
            1);
  EXPECT_NE(output.find("lethe pretrain"), std::string::npos) << output;
  core::write_file_atomic(dir / "c.yaml", "eval: [1, 2]\n");
  EXPECT_EQ(test::run_lethe(
                "run --config " + (dir / "c.yaml").string() + " --out " + (dir / "run").string(),
                &output),
            1);
  EXPECT_NE(output.find("c.yaml:1: eval: must be a mapping"), std::string::npos) << output;
  fs::remove_all(dir);
}
