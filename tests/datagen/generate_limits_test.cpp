// `lethe data generate` over an existing dataset on a full disk (RLIMIT_FSIZE) or into a read-only
// folder: one line naming the file and the cause, exit code 1, and the existing dataset unchanged
// byte for byte (the files are staged and renamed into place only once all are written).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/atomic_file.h"
#include "crash_test_util.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& path : test::files_under(dir.string())) files[path] = core::read_file(path);
  return files;
}

std::vector<std::string> generate_args(const fs::path& out, const char* seed) {
  return {"--quiet",    "data",
          "generate",   "--out",
          out.string(), "--seed",
          seed,         "--targets",
          "2",          "--background",
          "3",          "--holdout",
          "1",          "--world-country-qa",
          "2",          "--no-check"};
}

TEST(GenerateLimits, FullDiskOrReadOnlyFolderLeaveTheExistingDatasetAsItWas) {
  char name[] = "/tmp/lethe_test_generate_limits_XXXXXX";
  ASSERT_NE(::mkdtemp(name), nullptr);
  const fs::path dir = name, out = dir / "data";
  const auto first = test::run_lethe_child(generate_args(out, "1"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto before = snapshot(out);
  ASSERT_GE(before.size(), 10u);  // nine JSONL files and the manifest

  // Full disk: every file over 4 KB fails to write (corpus.jsonl and others are larger).
  test::ChildLimits full_disk;
  full_disk.file_size_bytes = 4096;
  auto r = test::run_lethe_child(generate_args(out, "2"), -1, full_disk);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.rfind("lethe: error: " + out.string() + "/", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(": cannot write: File too large (the file was not changed)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_EQ(snapshot(out), before) << "a failed generation changed the existing dataset";

  // Read-only folder (as a user: root's permission override dropped in the child).
  ASSERT_EQ(::chmod(out.c_str(), 0555), 0);
  test::ChildLimits read_only;
  read_only.drop_dac_override = true;
  r = test::run_lethe_child(generate_args(out, "2"), -1, read_only);
  ::chmod(out.c_str(), 0755);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(": cannot write into " + out.string() + ": Permission denied"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_EQ(snapshot(out), before);

  // A folder that cannot be created.
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  r = test::run_lethe_child(generate_args(dir / "new", "2"), -1, read_only);
  ::chmod(dir.c_str(), 0755);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find((dir / "new").string() + ": cannot create folder: Permission denied"),
            std::string::npos)
      << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lethe
