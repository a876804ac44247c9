// Crash safety of `lethe run --quick`: one run sequence SIGKILLed at seeded random moments (kill,
// rerun, kill, rerun, ..., then a rerun that finishes) must end with the same data, adapters and
// results as one uninterrupted run, leave no temporary or corrupt file, and never redo a stage that
// was recorded done. A tiny world and base model keep each run to seconds of CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "crash_test_util.h"
#include "datagen/generate.h"
#include "expect_close.h"
#include "tiny_pretrain.h"
#include "train/pretrain.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The run config: --quick's profile shrunk to one target and one unlearning run; privleak needs
// more examples than this world has, so the metrics are chosen.
constexpr const char* kRunConfig = R"(seed: 7
max_length: 256
data: {targets: 1, background: 1, holdout: 1, sf_per_target: 1, correlated_per_target: 1,
       other_per_target: 1, world_country_qa: 1}
finetune: {epochs: 1, batch_size: 8}
retain_only: {}
unlearn: {intensities: {light: 1}, methods: {grad_ascent: {}}}
eval: {max_new_tokens: 2, limit: 2, metrics: [rouge_l, truth_ratio, forget_quality, model_utility]}
quantize: {schemes: [int8], limit: 1}
relearn: {examples: 2, steps: [1]}
repr: {layers: [last], limit: 2}
)";

class RunCrash : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    core::Progress::set_quiet(true);
    dir_ = new fs::path(test::make_temp_dir("run_crash"));
    // A base model that knows the tiny world's words: pretrained on its corpus for one epoch.
    datagen::GenerateOptions g;
    g.out_dir = (*dir_ / "world").string();
    g.seed = 7;
    g.targets = 1;
    g.background = 1;
    g.holdout = 1;
    g.other_per_target = 1;
    g.world_country_qa = 1;
    g.check = false;
    datagen::generate_dataset(g);
    auto p = test::tiny_pretrain_config((*dir_ / "world" / "corpus.jsonl").string(),
                                        (*dir_ / "base").string(), 128, 16);
    p.train.max_steps = 4;  // the model only has to exist: crash safety does not need it to learn
    train::run_pretrain(p, false);
    core::write_file_atomic(*dir_ / "tiny.yaml", kRunConfig);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  static test::ChildResult run(const fs::path& out, double kill_after_s = -1) {
    return test::run_lethe_child(
        {"--quiet", "run", "--quick", "--config", (*dir_ / "tiny.yaml").string(), "--model",
         (*dir_ / "base").string(), "--out", out.string()},
        kill_after_s);
  }

  // stage name -> stage_done.json text, for every stage recorded done.
  static std::map<std::string, std::string> done_stages(const fs::path& out) {
    std::map<std::string, std::string> done;
    if (!fs::is_directory(out / "stages")) return done;
    for (const auto& e : fs::directory_iterator(out / "stages"))
      if (fs::exists(e.path() / "stage_done.json"))
        done[e.path().filename().string()] = core::read_file(e.path() / "stage_done.json");
    return done;
  }

  // A result file without what differs between two identical runs: timings, the run folder's
  // path, and folder hashes (they cover metrics.jsonl, whose lines carry timings).
  static json normalized(json value, const std::string& run_dir) {
    if (value.is_object()) {
      json out = json::object();
      for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string& k = it.key();
        if (k == "hashes" || k.find("seconds") != std::string::npos || k == "elapsed_s" ||
            k == "tokens_per_s" || (k.size() > 3 && k.compare(k.size() - 3, 3, "_at") == 0))
          continue;
        out[k] = normalized(it.value(), run_dir);
      }
      return out;
    }
    if (value.is_array()) {
      for (auto& v : value) v = normalized(v, run_dir);
      return value;
    }
    if (value.is_string()) {
      std::string s = value.get<std::string>();
      for (size_t at; (at = s.find(run_dir)) != std::string::npos;)
        s.replace(at, run_dir.size(), "RUN");
      return s;
    }
    return value;
  }

  static fs::path* dir_;
};
fs::path* RunCrash::dir_ = nullptr;

TEST_F(RunCrash, KilledRunSequenceEndsLikeAnUninterruptedRun) {
  const fs::path ref_out = *dir_ / "ref";
  const auto ref = run(ref_out);
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const auto ref_stages = done_stages(ref_out);
  ASSERT_GE(ref_stages.size(), 4u);  // data, finetune, retain_only, eval at least

  // Kill moments fall between the end of start-up (loading libtorch, the model and the data, which
  // is most of a tiny run) and the end of the reference run: earlier kills never find a finished
  // stage, so they could not catch a rerun that redoes one.
  const auto startup = test::run_lethe_child({"--version"});
  ASSERT_EQ(startup.exit_code, 0) << startup.output;
  const double busy = std::max(0.0, ref.seconds - startup.seconds);
  const fs::path out = *dir_ / "killed";
  std::mt19937 rng(77);
  std::uniform_real_distribution<double> when(0.1, 0.9);
  int kills = 0;
  std::string killed_at;  // how many stages were done after each kill
  for (int attempt = 0; attempt < 4; ++attempt) {
    const auto before = done_stages(out);
    const bool last = attempt == 3;
    const auto r = run(out, last ? -1.0 : startup.seconds + when(rng) * busy);
    const auto after = done_stages(out);
    for (const auto& [name, record] : before) {
      ASSERT_TRUE(after.count(name)) << name << " was done before attempt " << attempt;
      EXPECT_EQ(after.at(name), record) << "stage " << name << " was redone by attempt " << attempt;
    }
    test::expect_no_corrupt_files(out.string(), /*allow_temp=*/!last);
    if (r.killed) {
      ++kills;
      killed_at += " " + std::to_string(after.size());
    } else {
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
  }
  std::printf(
      "[run crash: %d kills, stages done after each:%s of %zu; reference run %.1f s, start-up "
      "%.1f s]\n",
      kills, killed_at.c_str(), ref_stages.size(), ref.seconds, startup.seconds);

  // The same stages, and the same data, adapters and results as the uninterrupted run.
  const auto stages = done_stages(out);
  for (const auto& [name, record] : ref_stages) EXPECT_TRUE(stages.count(name)) << name;
  for (const auto& file : test::files_under(ref_out.string())) {
    const fs::path rel = fs::relative(file, ref_out);
    const std::string ext = rel.extension().string();
    const std::string top = rel.begin()->string();
    const bool compared = (top == "data" && ext == ".jsonl") ||
                          rel.filename() == "adapter_model.safetensors" ||
                          (top == "results" && ext == ".json" && rel.parent_path() == "results");
    if (!compared) continue;
    ASSERT_TRUE(fs::exists(out / rel)) << rel;
    if (ext == ".json") {
      EXPECT_EQ(normalized(core::read_json(out / rel), out.string()),
                normalized(core::read_json(file), ref_out.string()))
          << rel << " differs from the uninterrupted run";
    } else {
      EXPECT_EQ(core::read_file(out / rel), core::read_file(file))
          << rel << " differs from the uninterrupted run";
    }
  }
}

}  // namespace
}  // namespace lethe
