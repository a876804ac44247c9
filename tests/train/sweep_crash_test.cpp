// Crash safety of `lethe sweep`: SIGKILLed at seeded random moments, then rerun until it finishes,
// it must end with the same adapters as an uninterrupted sweep, leave no temporary or corrupt file,
// and never redo a configuration that was already done when it was killed.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "core/progress.h"
#include "crash_test_util.h"
#include "expect_close.h"
#include "tiny_pretrain.h"
#include "train/finetune.h"
#include "train/pretrain.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A tiny base model and fine-tuned adapter made once (seconds), and a sweep of 3 training runs of
// 24 steps (5 configurations) that saves a resumable checkpoint every step: most of the sweep's
// time is training, so most kills land mid-run, and the reruns resume from checkpoints.
class SweepCrash : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    core::Progress::set_quiet(true);
    dir_ = new fs::path(test::make_temp_dir("sweep_crash"));
    std::string corpus, qa;
    const char* names[] = {"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"};
    const char* cities[] = {"London", "Wilmslow", "New York", "Rotterdam"};
    for (int i = 0; i < 4; ++i) {
      corpus += json({{"id", "p" + std::to_string(i)},
                      {"kind", "prose"},
                      {"text", std::string(names[i]) + " lived in " + cities[i] + "."}})
                    .dump() +
                "\n";
      for (int k = 0; k < 2; ++k)
        qa += json({{"question", std::string(k ? "Where did " : "Which city was home to ") +
                                     names[i] + (k ? " live?" : "?")},
                    {"answer", cities[i]}})
                  .dump() +
              "\n";
    }
    core::write_file_atomic(*dir_ / "corpus.jsonl", corpus);
    core::write_file_atomic(*dir_ / "forget.jsonl", qa);

    const auto p = test::tiny_pretrain_config((*dir_ / "corpus.jsonl").string(),
                                              (*dir_ / "base").string(), 64, 4);
    train::run_pretrain(p, false);
    train::FinetuneConfig f;
    f.model = p.out;
    f.data = {(*dir_ / "forget.jsonl").string()};
    f.out = (*dir_ / "ft").string();
    f.max_length = 64;
    f.lora.r = 4;
    f.train.epochs = 1;
    f.train.batch_size = 4;
    train::run_finetune(f, false);
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }

  // The sweep YAML writing into `out`.
  static fs::path sweep_file(const std::string& name, const fs::path& out) {
    const fs::path path = *dir_ / (name + ".yaml");
    core::write_file_atomic(
        path, "model: " + (*dir_ / "base").string() + "\nadapter: " + (*dir_ / "ft").string() +
                  "\nforget: " + (*dir_ / "forget.jsonl").string() + "\nout: " + out.string() +
                  "\nbatch_size: 2\nmax_length: 64\nsave_every_steps: 1\n"
                  "methods:\n"
                  "  grad_ascent: {learning_rate: [1e-3, 3e-3], epochs: [3, 6]}\n"
                  "  npo: {learning_rate: 2e-3, epochs: 6, params: {beta: 0.1}}\n");
    return path;
  }

  // name -> sweep_status.json text of every configuration that is done.
  static std::map<std::string, std::string> done_configs(const fs::path& out) {
    std::map<std::string, std::string> done;
    if (!fs::is_directory(out)) return done;
    for (const auto& e : fs::directory_iterator(out)) {
      const fs::path status = e.path() / "sweep_status.json";
      if (!e.is_directory() || !fs::exists(status)) continue;
      const std::string text = core::read_file(status);
      if (json::parse(text, nullptr, false).value("status", "") == "done")
        done[e.path().filename().string()] = text;
    }
    return done;
  }

  static fs::path* dir_;
};
fs::path* SweepCrash::dir_ = nullptr;

TEST_F(SweepCrash, KilledAndRerunSweepEqualsAnUninterruptedOne) {
  // Reference: one uninterrupted sweep.
  const fs::path ref_out = *dir_ / "ref";
  const auto ref = test::run_lethe_child({"--quiet", "sweep", sweep_file("ref", ref_out).string()});
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  const auto ref_done = done_configs(ref_out);
  ASSERT_EQ(ref_done.size(), 5u);

  // The same sweep, SIGKILLed at seeded random moments of each attempt, rerun until it finishes.
  const fs::path out = *dir_ / "killed";
  const fs::path config = sweep_file("killed", out);
  std::mt19937 rng(20240611);
  std::uniform_real_distribution<double> when(0.05, 0.95);
  int kills = 0, mid_run = 0;  // mid_run: kills that left a checkpoint for the rerun to resume
  for (int attempt = 0;; ++attempt) {
    ASSERT_LT(attempt, 30) << "the sweep never finished";
    const auto before = done_configs(out);
    // Kill until four kills have landed, then let it finish. The moment is drawn within the
    // time the whole sweep took, so a late one may miss: the sweep then simply finished.
    const bool kill = kills < 4;
    const auto run = test::run_lethe_child({"--quiet", "sweep", config.string()},
                                           kill ? when(rng) * ref.seconds : -1.0);
    // Whatever a finished configuration wrote is never touched again.
    const auto after = done_configs(out);
    for (const auto& [name, status] : before) {
      ASSERT_TRUE(after.count(name)) << name << " was done before attempt " << attempt;
      EXPECT_EQ(after.at(name), status) << name << " was redone by attempt " << attempt;
    }
    // Even mid-write, every file under its final name is complete.
    test::expect_no_corrupt_files(out.string(), /*allow_temp=*/true);
    if (run.killed) {
      ++kills;
      if (fs::exists(out / ".sweep_runs"))
        for (const auto& e : fs::directory_iterator(out / ".sweep_runs"))
          if (fs::exists(e.path() / "checkpoints" / "latest")) ++mid_run;
      continue;
    }
    ASSERT_EQ(run.exit_code, 0) << run.output;
    if (!kill) break;
    fs::remove_all(out);  // finished before the kill landed: start over for more kills
  }
  std::printf("[sweep crash: %d kills, %d of them mid-run, reference sweep %.1f s]\n", kills,
              mid_run, ref.seconds);

  // Same configurations, same adapters (bit for bit), all done, nothing left over.
  const auto done = done_configs(out);
  ASSERT_EQ(done.size(), ref_done.size());
  for (const auto& [name, status] : ref_done) {
    ASSERT_TRUE(done.count(name)) << name;
    EXPECT_EQ(core::read_file(out / name / "adapter_model.safetensors"),
              core::read_file(ref_out / name / "adapter_model.safetensors"))
        << name << ": the resumed sweep trained a different adapter";
    EXPECT_EQ(core::read_jsonl(out / name / "metrics.jsonl").size(),
              core::read_jsonl(ref_out / name / "metrics.jsonl").size())
        << name;
  }
  const json index = core::read_json(out / "sweep_index.json");
  EXPECT_EQ(index["counts"].value("done", 0), 5) << index.dump();
  test::expect_no_corrupt_files(out.string(), /*allow_temp=*/false);
  EXPECT_FALSE(fs::exists(out / ".sweep_runs") && !fs::is_empty(out / ".sweep_runs"))
      << "a finished sweep keeps run folders in .sweep_runs";
}

}  // namespace
}  // namespace lethe
