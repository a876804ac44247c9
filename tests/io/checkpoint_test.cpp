// HF checkpoint folders: single file and shards (load, save, errors naming the missing shard), and
// model-id lookup in a fake Hugging Face cache.
#include "io/checkpoint.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/json_io.h"
#include "expect_close.h"
#include "io/model_path.h"
#include "io_test_util.h"

namespace lethe {
namespace fs = std::filesystem;

TEST(Checkpoint, LoadsFixtureFolderAndConvertsDtypeAtLoad) {
  const fs::path folder = test::fixture_path("qwen2-tiny");
  io::StateDict fp32 = io::load_state_dict(folder);
  EXPECT_EQ(fp32.size(), 26u);
  EXPECT_EQ(fp32.count("lm_head.weight"), 0u);  // tied
  io::StateDict same = io::load_state_dict(folder / "model.safetensors");
  EXPECT_EQ(same.size(), fp32.size());
  io::StateDict bf16 = io::load_state_dict(folder, torch::kBFloat16);
  ASSERT_EQ(bf16.size(), fp32.size());
  for (const auto& [name, t] : fp32) {
    EXPECT_EQ(bf16.at(name).scalar_type(), torch::kBFloat16) << name;
    EXPECT_TRUE(torch::equal(bf16.at(name), t.to(torch::kBFloat16))) << name;
  }
  EXPECT_TRUE(io::has_safetensors_weights(folder));
}

TEST(Checkpoint, ShardedSaveAndLoadRoundTrip) {
  auto dir = fs::path(test::make_temp_dir("ckpt_shards"));
  io::StateDict weights = io::load_state_dict(test::fixture_path("qwen2-tiny"));
  io::save_state_dict(dir, weights, 150000);  // ~505 KB of weights -> 4 shards
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));
  auto index = core::read_json(dir / "model.safetensors.index.json");
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), 502016u);
  EXPECT_EQ(index["weight_map"].size(), weights.size());
  EXPECT_TRUE(fs::exists(dir / "model-00001-of-00004.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "model-00004-of-00004.safetensors"));
  io::StateDict loaded = io::load_state_dict(dir);
  ASSERT_EQ(loaded.size(), weights.size());
  for (const auto& [name, t] : weights) EXPECT_TRUE(torch::equal(loaded.at(name), t)) << name;

  // Saving again as one file removes the stale shards and index.
  io::save_state_dict(dir, weights);
  EXPECT_TRUE(fs::exists(dir / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(dir / "model-00001-of-00004.safetensors"));
  EXPECT_EQ(io::load_state_dict(dir).size(), weights.size());
  fs::remove_all(dir);
}

TEST(Checkpoint, ShardErrorsNameTheShardAndTensor) {
  auto dir = fs::path(test::make_temp_dir("ckpt_bad"));
  io::StateDict weights = io::load_state_dict(test::fixture_path("qwen2-tiny"));
  io::save_state_dict(dir, weights, 150000);
  const fs::path index_path = dir / "model.safetensors.index.json";
  const auto index = core::read_json(index_path);

  // A missing shard.
  fs::rename(dir / "model-00002-of-00004.safetensors", dir / "moved.safetensors");
  std::string message = test::error_of([&] { io::load_state_dict(dir); });
  EXPECT_HAS(message, "shard 'model-00002-of-00004.safetensors'");
  EXPECT_HAS(message, "is missing");
  fs::rename(dir / "moved.safetensors", dir / "model-00002-of-00004.safetensors");

  // The index lists a tensor its shard does not hold.
  auto extra = index;
  extra["weight_map"]["model.ghost.weight"] = "model-00001-of-00004.safetensors";
  core::write_json(index_path, extra);
  message = test::error_of([&] { io::load_state_dict(dir); });
  EXPECT_HAS(message, "model-00001-of-00004.safetensors: tensor 'model.ghost.weight'");

  // The same tensor in two shards.
  core::write_json(index_path, index);
  const fs::path shard3 = dir / "model-00003-of-00004.safetensors";
  io::StateDict doubled = io::load_safetensors(shard3);
  doubled.emplace("model.embed_tokens.weight", torch::zeros({2}));
  io::write_safetensors(shard3, doubled);
  message = test::error_of([&] { io::load_state_dict(dir); });
  EXPECT_HAS(message, "is stored in both");

  // An index that is not JSON, and one without weight_map.
  core::write_file_atomic(index_path, "{not json");
  EXPECT_HAS(test::error_of([&] { io::load_state_dict(dir); }), index_path.string());
  core::write_file_atomic(index_path, R"({"metadata": {}})");
  EXPECT_HAS(test::error_of([&] { io::load_state_dict(dir); }), "'weight_map' missing");

  // No weights at all; a pytorch_model.bin gets a hint.
  auto empty = dir / "empty";
  fs::create_directories(empty);
  EXPECT_HAS(test::error_of([&] { io::load_state_dict(empty); }),
             "no model.safetensors or model.safetensors.index.json");
  core::write_file_atomic(empty / "pytorch_model.bin", "x");
  EXPECT_HAS(test::error_of([&] { io::load_state_dict(empty); }), "safe_serialization=True");
  EXPECT_HAS(test::error_of([&] { io::load_state_dict(dir / "absent"); }), "no such model folder");
  fs::remove_all(dir);
}

namespace {
// Sets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::vector<std::pair<std::string, std::string>> values) {
    for (const char* name :
         {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"}) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      ::unsetenv(name);
    }
    for (const auto& [k, v] : values) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : saved_)
      v ? ::setenv(k.c_str(), v->c_str(), 1) : ::unsetenv(k.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

fs::path make_snapshot(const fs::path& hub, const std::string& repo, const std::string& rev) {
  fs::path snapshot = hub / repo / "snapshots" / rev;
  fs::create_directories(snapshot);
  core::write_file_atomic(snapshot / "config.json", "{}");
  return snapshot;
}
}  // namespace

TEST(ModelPath, LocalFolderIsReturnedAsIs) {
  const std::string folder = test::fixture_path("qwen2-tiny");
  EXPECT_EQ(io::resolve_model_path(folder), fs::path(folder));
  EXPECT_HAS(test::error_of([&] { io::resolve_model_path(folder + "/config.json"); }), "is a file");
  EXPECT_HAS(test::error_of([] { io::resolve_model_path("./no/such/folder"); }),
             "no such model folder");
}

TEST(ModelPath, FindsModelIdInHfCacheUsingRefsMain) {
  auto home = fs::path(test::make_temp_dir("hf_home"));
  ScopedEnv env({{"HF_HOME", home.string()}});
  const fs::path hub = home / "hub";
  make_snapshot(hub, "models--Qwen--Qwen2.5-1.5B-Instruct", "aaaa");
  const fs::path main = make_snapshot(hub, "models--Qwen--Qwen2.5-1.5B-Instruct", "bbbb");
  core::write_file_atomic(hub / "models--Qwen--Qwen2.5-1.5B-Instruct" / "refs" / "main", "bbbb\n");
  EXPECT_EQ(io::resolve_model_path("Qwen/Qwen2.5-1.5B-Instruct"), main);
  EXPECT_EQ(io::hf_hub_cache_dir(), hub);

  // refs/main naming a snapshot that is not there.
  core::write_file_atomic(hub / "models--Qwen--Qwen2.5-1.5B-Instruct" / "refs" / "main", "cccc");
  std::string message =
      test::error_of([] { io::resolve_model_path("Qwen/Qwen2.5-1.5B-Instruct"); });
  EXPECT_HAS(message, "names revision 'cccc'");
  fs::remove_all(home);
}

TEST(ModelPath, WithoutRefsTakesNewestSnapshotAndHubCacheWins) {
  auto root = fs::path(test::make_temp_dir("hf_hub"));
  const fs::path hub = root / "custom_hub";
  ScopedEnv env({{"HF_HUB_CACHE", hub.string()}, {"HF_HOME", (root / "ignored").string()}});
  const fs::path older = make_snapshot(hub, "models--gpt2", "old");
  const fs::path newer = make_snapshot(hub, "models--gpt2", "new");
  auto now = fs::file_time_type::clock::now();
  fs::last_write_time(older, now - std::chrono::hours(2));
  fs::last_write_time(newer, now - std::chrono::hours(1));
  EXPECT_EQ(io::resolve_model_path("gpt2"), newer);
  fs::last_write_time(older, now);
  EXPECT_EQ(io::resolve_model_path("gpt2"), older);
  fs::remove_all(root);
}

TEST(ModelPath, MissingModelListsWhereItLooked) {
  auto home = fs::path(test::make_temp_dir("hf_missing"));
  ScopedEnv env({{"HF_HOME", home.string()}});
  std::string message = test::error_of([] { io::resolve_model_path("Org/Missing-Model"); });
  EXPECT_HAS(message, "Org/Missing-Model: not a local folder and not in the Hugging Face cache");
  EXPECT_HAS(message, (home / "hub" / "models--Org--Missing-Model" / "snapshots").string());
  fs::create_directories(home / "hub" / "models--Org--Empty" / "snapshots");
  EXPECT_HAS(test::error_of([] { io::resolve_model_path("Org/Empty"); }), "holds no snapshot");
  fs::remove_all(home);
}

}  // namespace lethe
