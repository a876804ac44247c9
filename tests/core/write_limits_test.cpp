// Writes that fail half-way, as on a full disk (RLIMIT_FSIZE: EFBIG) or in a read-only folder: a
// one-line lethe::Error naming the file and the cause, the previous content intact, no temporary
// left behind; and the stale temporaries of killed processes cleaned up by the next write.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "crash_test_util.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

class WriteLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/lethe_test_write_limits_XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override {
    ::chmod(dir_.c_str(), 0755);
    fs::remove_all(dir_);
  }
  // The message of the lethe::Error `body` throws ("" when it throws none).
  template <typename Body>
  static std::string error_of(Body body) {
    try {
      body();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  size_t file_count() const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) (void)e, ++n;
    return n;
  }
  fs::path dir_;
};

TEST_F(WriteLimits, FullDiskKeepsTheOldFileAndSaysWhy) {
  const fs::path path = dir_ / "results.json";
  core::write_file_atomic(path, "{\"old\": true}\n");
  std::string error;
  {
    test::ScopedFileSizeLimit limit(1024);
    error = error_of([&] { core::write_file_atomic(path, std::string(8192, 'x')); });
  }
  EXPECT_NE(error.find(path.string() + ": cannot write: File too large"), std::string::npos)
      << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_EQ(core::read_file(path), "{\"old\": true}\n");
  EXPECT_EQ(file_count(), 1u) << "a temporary file was left behind";
}

TEST_F(WriteLimits, StagedFilesChangeNothingUnlessAllAreWritten) {
  core::write_file_atomic(dir_ / "a.jsonl", "old a\n");
  core::write_file_atomic(dir_ / "b.jsonl", "old b\n");
  std::string error;
  {
    test::ScopedFileSizeLimit limit(1024);
    error = error_of([&] {
      core::StagedFiles staged;
      staged.add(dir_ / "a.jsonl", "new a\n");               // fits
      staged.add(dir_ / "b.jsonl", std::string(4096, 'b'));  // does not
      staged.commit();
    });
  }
  EXPECT_NE(error.find("b.jsonl: cannot write: File too large"), std::string::npos) << error;
  EXPECT_EQ(core::read_file(dir_ / "a.jsonl"), "old a\n") << "a was replaced before b failed";
  EXPECT_EQ(core::read_file(dir_ / "b.jsonl"), "old b\n");
  EXPECT_EQ(file_count(), 2u) << "temporary files were left behind";

  core::StagedFiles staged;
  staged.add(dir_ / "a.jsonl", "new a\n");
  staged.add(dir_ / "b.jsonl", "new b\n");
  EXPECT_EQ(core::read_file(dir_ / "a.jsonl"), "old a\n");  // nothing visible before commit
  staged.commit();
  EXPECT_EQ(core::read_file(dir_ / "a.jsonl"), "new a\n");
  EXPECT_EQ(core::read_file(dir_ / "b.jsonl"), "new b\n");
  EXPECT_EQ(file_count(), 2u);
}

TEST_F(WriteLimits, ReadOnlyFolderKeepsTheOldFileAndSaysWhy) {
  const fs::path path = dir_ / "config.yaml";
  core::write_file_atomic(path, "seed: 1\n");
  ASSERT_EQ(::chmod(dir_.c_str(), 0555), 0);
  std::string error;
  {
    test::ScopedNoDacOverride as_a_user;
    error = error_of([&] { core::write_file_atomic(path, "seed: 2\n"); });
  }
  ::chmod(dir_.c_str(), 0755);
  EXPECT_NE(
      error.find(path.string() + ": cannot write into " + dir_.string() + ": Permission denied"),
      std::string::npos)
      << error;
  EXPECT_EQ(core::read_file(path), "seed: 1\n");
  EXPECT_EQ(file_count(), 1u);
  // A folder that cannot be created is one line naming it.
  ASSERT_EQ(::chmod(dir_.c_str(), 0555), 0);
  {
    test::ScopedNoDacOverride as_a_user;
    error = error_of([&] { core::write_file_atomic(dir_ / "sub" / "x.json", "{}"); });
  }
  EXPECT_NE(error.find((dir_ / "sub").string() + ": cannot create folder: Permission denied"),
            std::string::npos)
      << error;
}

TEST_F(WriteLimits, NextWriteRemovesTemporariesOfKilledProcesses) {
  const fs::path path = dir_ / "sweep_index.json";
  // What a SIGKILLed writer leaves: its temporary, named for a process that no longer exists.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const fs::path stale =
      dir_ / (".sweep_index.json.tmp." + std::string(host) + "." + std::to_string(child));
  const fs::path stale_old_style = dir_ / (".sweep_index.json.tmp." + std::to_string(child));
  const fs::path other_host = dir_ / (".sweep_index.json.tmp.elsewhere." + std::to_string(child));
  const fs::path live =
      dir_ / (".sweep_index.json.tmp." + std::string(host) + "." + std::to_string(::getppid()));
  for (const auto& p : {stale, stale_old_style, other_host, live})
    core::write_file_atomic(p, "half-written");
  core::write_file_atomic(path, "{}\n");
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale_old_style));
  EXPECT_TRUE(fs::exists(other_host)) << "another host's process may still be writing";
  EXPECT_TRUE(fs::exists(live)) << "a running process is still writing";
  EXPECT_EQ(core::read_file(path), "{}\n");
}

TEST_F(WriteLimits, NextFolderWriteRemovesTemporaryFoldersOfKilledProcesses) {
  // A checkpoint folder half-written by a SIGKILLed process: its temporary folder holds files.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  const fs::path stale = dir_ / (".step-4.tmp." + std::string(host) + "." + std::to_string(child));
  core::write_file_atomic(stale / "trainable.safetensors", "half-written");
  core::write_dir_atomic(dir_ / "step-4", [](const fs::path& tmp) {
    core::write_file_atomic(tmp / "trainer_state.json", "{}\n");
  });
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(core::read_file(dir_ / "step-4" / "trainer_state.json"), "{}\n");
}

}  // namespace
}  // namespace lethe
