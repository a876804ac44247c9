// Commands given an --out they cannot use (a file, a path through a file, a read-only folder) say
// so in one line of lethe's own (core::error_message) before doing any work. Here, not in
// tests/core, because it runs `lethe finetune` and `lethe eval`, which need every layer.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "core/atomic_file.h"
#include "crash_test_util.h"
#include "expect_close.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

// `lethe finetune` and `lethe eval` with an --out they cannot use. Before the output locks these
// printed "filesystem error: cannot create directories: Not a directory [OUT]" (finetune) or
// failed only after the whole evaluation (eval).
class UnusableOut : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::make_temp_dir("unusable_out"));
    const auto r = test::run_lethe_child({"--quiet", "data", "generate", "--out",
                                          (*dir_ / "data").string(), "--targets", "1",
                                          "--background", "1", "--holdout", "1", "--no-check"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    core::write_file_atomic(*dir_ / "afile", "x");
    fs::create_directories(*dir_ / "ro");
    ::chmod((*dir_ / "ro").c_str(), 0555);
  }
  static void TearDownTestSuite() {
    ::chmod((*dir_ / "ro").c_str(), 0755);
    fs::remove_all(*dir_);
    delete dir_;
  }
  // One line, exit code 1, lethe's own text (no libstdc++ "filesystem error").
  static void expect_one_line(const test::ChildResult& r, const std::string& want) {
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_EQ(r.output, "lethe: error: " + want + "\n");
    EXPECT_EQ(r.output.find("filesystem error"), std::string::npos) << r.output;
  }
  static test::ChildResult finetune(const fs::path& out) {
    test::ChildLimits user;
    user.drop_dac_override = true;  // root meets the read-only folder as any user does
    return test::run_lethe_child(
        {"--quiet", "finetune", "--model", test::fixture_path("qwen2-tiny"), "--data",
         (*dir_ / "data" / "sf.jsonl").string(), "--out", out.string()},
        -1, user);
  }
  static test::ChildResult eval(const fs::path& out) {
    test::ChildLimits user;
    user.drop_dac_override = true;
    return test::run_lethe_child({"--quiet", "eval", "--model", test::fixture_path("qwen2-tiny"),
                                  "--data", (*dir_ / "data").string(), "--out", out.string()},
                                 -1, user);
  }
  static fs::path* dir_;
};
fs::path* UnusableOut::dir_ = nullptr;

TEST_F(UnusableOut, OutThatIsAFile) {
  expect_one_line(finetune(*dir_ / "afile"),
                  (*dir_ / "afile").string() + ": is not a folder (a file of that name exists)");
  expect_one_line(finetune(*dir_ / "afile" / "ft"),
                  (*dir_ / "afile" / "ft").string() + ": cannot create folder: Not a directory");
  expect_one_line(eval(*dir_ / "afile" / "results.json"),
                  (*dir_ / "afile").string() + ": is not a folder (a file of that name exists)");
}

TEST_F(UnusableOut, ReadOnlyOut) {
  expect_one_line(finetune(*dir_ / "ro" / "ft"),
                  (*dir_ / "ro" / "ft").string() + ": cannot create folder: Permission denied");
  expect_one_line(finetune(*dir_ / "ro"),
                  "cannot write into " + (*dir_ / "ro").string() + ": Permission denied");
  expect_one_line(eval(*dir_ / "ro" / "results.json"),
                  (*dir_ / "ro" / "results.json").string() + ": cannot write into " +
                      (*dir_ / "ro").string() + ": Permission denied");
  EXPECT_TRUE(fs::is_empty(*dir_ / "ro"));
}

}  // namespace
}  // namespace lethe
