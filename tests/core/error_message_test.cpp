// core::error_message: a std::filesystem_error reaches the user as "PATH: WHAT: REASON", never as
// libstdc++'s "filesystem error: ... [PATH]". The commands' side (an --out that is a file or a
// read-only folder) is tests/pipeline/unusable_out_test.cpp: it needs finetune and eval.
#include "core/error_message.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "crash_test_util.h"
#include "expect_close.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

TEST(ErrorMessage, FilesystemErrorNamesThePathFirst) {
  const fs::path dir = test::make_temp_dir("error_message");
  core::write_file_atomic(dir / "afile", "x");
  try {
    fs::create_directories(dir / "afile" / "sub");
    FAIL() << "created a folder inside a file";
  } catch (const std::exception& e) {
    EXPECT_EQ(core::error_message(e),
              (dir / "afile" / "sub").string() + ": cannot create directories: Not a directory");
  }
  try {
    fs::rename(dir / "missing", dir / "target");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_EQ(core::error_message(e), (dir / "missing").string() + ": cannot rename to " +
                                          (dir / "target").string() +
                                          ": No such file or directory");
  }
  const Error own("x.json: field 'a' missing");
  EXPECT_EQ(core::error_message(own), "x.json: field 'a' missing");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lethe
