// core::DirLock, the lock on the folder a command writes: a second holder fails at once naming the
// folder and the holder's pid; a released or killed holder leaves no stale lock; and two real
// `lethe` processes started at once on one folder: exactly one proceeds.
#include "core/dir_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "crash_test_util.h"
#include "expect_close.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

std::string in_use(const std::string& what, long pid) {
  return what + ": in use by another lethe process (pid " + std::to_string(pid) +
         "); wait for it to finish or write elsewhere";
}

class DirLockTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("dir_lock"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(DirLockTest, SecondLockFailsNamingTheFolderAndTheHoldersPid) {
  const fs::path out = dir_ / "run";
  {
    core::DirLock first(out);
    EXPECT_TRUE(fs::is_directory(out));
    EXPECT_EQ(core::lock_holder_pid(out / core::kDirLockFile), ::getpid());
    // flock locks belong to an open file, so a second open in this process conflicts too.
    try {
      core::DirLock second(out);
      FAIL() << "two locks on one folder";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), in_use(out.string(), ::getpid()));
    }
    // "run/" and "run" are one folder.
    EXPECT_THROW(core::DirLock(out.string() + "/"), Error);
    core::write_file_atomic(out / "result.json", "{}");
  }
  EXPECT_FALSE(fs::exists(out / core::kDirLockFile)) << "a released lock left its file";
  EXPECT_TRUE(fs::exists(out / "result.json"));
  core::DirLock again(out);  // released: the next command takes it
}

TEST_F(DirLockTest, ReleaseRemovesOnlyTheEmptyFoldersItCreated) {
  { core::DirLock lock(dir_ / "a" / "b" / "c"); }
  EXPECT_FALSE(fs::exists(dir_ / "a")) << "a command that wrote nothing left folders behind";
  {
    core::DirLock lock(dir_ / "x" / "y");
    core::write_file_atomic(dir_ / "x" / "y" / "adapter_config.json", "{}");
  }
  EXPECT_TRUE(fs::exists(dir_ / "x" / "y" / "adapter_config.json"));
  fs::create_directories(dir_ / "existing");
  { core::DirLock lock(dir_ / "existing"); }
  EXPECT_TRUE(fs::is_directory(dir_ / "existing"))
      << "a folder the lock did not create was removed";
}

TEST_F(DirLockTest, SharedLocksCoexistAndExcludeAnExclusiveOne) {
  const fs::path out = dir_ / "sweep";
  {
    core::DirLock a(out, core::LockMode::shared);
    {
      core::DirLock b(out, core::LockMode::shared);
      EXPECT_THROW(core::DirLock(out, core::LockMode::exclusive), Error);
    }
    EXPECT_TRUE(fs::exists(out / core::kDirLockFile)) << "removed while another shard holds it";
    EXPECT_THROW(core::DirLock(out, core::LockMode::exclusive), Error);
  }
  EXPECT_FALSE(fs::exists(out / core::kDirLockFile));
  core::DirLock exclusive(out);
  EXPECT_THROW(core::DirLock(out, core::LockMode::shared), Error);
}

TEST_F(DirLockTest, OutputFileLockNamesTheFile) {
  const fs::path file = dir_ / "results" / "eval.json";
  const auto lock = core::DirLock::for_output_file(file);
  EXPECT_EQ(lock.lock_file(), dir_ / "results" / ".eval.json.lock");
  try {
    core::DirLock::for_output_file(file);
    FAIL() << "two locks on one output file";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), in_use(file.string(), ::getpid()));
  }
  const auto other = core::DirLock::for_output_file(dir_ / "results" / "quantize.json");
}

TEST_F(DirLockTest, UnusableFolderIsOneLineNamingThePath) {
  core::write_file_atomic(dir_ / "afile", "x");
  try {
    core::DirLock lock(dir_ / "afile");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "afile").string() + ": is not a folder (a file of that name exists)");
  }
  try {
    core::DirLock lock(dir_ / "afile" / "sub");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "afile" / "sub").string() + ": cannot create folder: Not a directory");
  }
  try {
    core::DirLock::for_output_file(dir_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir_.string() + ": is a folder, not a file");
  }
}

// `lethe data generate` with its quality checks: a few seconds of one core, long enough that two
// started together overlap (startup is ~1 s).
std::vector<std::string> generate_args(const fs::path& out) {
  return {"--quiet", "data",         "generate", "--out",     out.string(), "--targets",
          "40",      "--background", "300",      "--holdout", "4"};
}

TEST_F(DirLockTest, TwoCommandsStartedAtOnceOnOneFolderOnlyOneProceeds) {
  const fs::path out = dir_ / "data";
  test::LetheChild a(generate_args(out));
  test::LetheChild b(generate_args(out));
  const test::ChildResult ra = a.wait(120), rb = b.wait(120);
  ASSERT_FALSE(ra.killed || rb.killed) << ra.output << rb.output;
  ASSERT_EQ((ra.exit_code == 0) + (rb.exit_code == 0), 1)
      << "exactly one must proceed\nA: " << ra.output << "\nB: " << rb.output;
  const bool a_won = ra.exit_code == 0;
  const test::ChildResult& winner = a_won ? ra : rb;
  const test::ChildResult& loser = a_won ? rb : ra;
  EXPECT_EQ(loser.exit_code, 1);
  EXPECT_EQ(loser.output,
            "lethe: error: " + in_use(out.string(), a_won ? a.pid() : b.pid()) + "\n");
  EXPECT_LT(loser.seconds, winner.seconds) << "the second command must stop at once";
  EXPECT_TRUE(fs::exists(out / "manifest.json"));
  EXPECT_FALSE(fs::exists(out / core::kDirLockFile));
  test::expect_no_corrupt_files(out.string(), false);
}

TEST_F(DirLockTest, SigkilledHolderLeavesNoStaleLock) {
  const fs::path out = dir_ / "data";
  {
    test::LetheChild holder(generate_args(out));
    const auto start = std::chrono::steady_clock::now();
    while (core::lock_holder_pid(out / core::kDirLockFile) != holder.pid() && holder.running() &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(60))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(holder.running()) << "the holder finished before it could be killed";
    holder.kill();
    const auto r = holder.wait();
    ASSERT_TRUE(r.killed) << r.output;
  }
  // The killed holder's file is still there, its flock is gone with it.
  ASSERT_TRUE(fs::exists(out / core::kDirLockFile));
  const auto next = test::run_lethe_child(generate_args(out));
  EXPECT_EQ(next.exit_code, 0) << next.output;
  EXPECT_TRUE(fs::exists(out / "manifest.json"));
  EXPECT_FALSE(fs::exists(out / core::kDirLockFile));
}

}  // namespace
}  // namespace lethe
