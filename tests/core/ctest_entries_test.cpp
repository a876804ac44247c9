// The ctest list (cmake/lethe_ctest_entries.cmake): one entry per test, one per suite listed in
// tests/shared_fixture_suites.txt, and that list names every fixture with a SetUpTestSuite (else
// its costly set-up would run once per test, each in its own process).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "lethe_source_dir.h"
#include "test_paths.h"

namespace lethe {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> listed_suites() {
  std::set<std::string> out;
  std::istringstream in(
      read_text(fs::path(LETHE_SOURCE_DIR) / "tests" / "shared_fixture_suites.txt"));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') out.insert(line);
  return out;
}

TEST(CtestEntries, SharedFixtureSuitesAreListed) {
  const std::set<std::string> listed = listed_suites();
  ASSERT_FALSE(listed.empty());
  const std::regex fixture(R"(class\s+(\w+)\s*:\s*public\s+(::)?testing::Test\b)");
  std::set<std::string> shared;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(LETHE_SOURCE_DIR) / "tests")) {
    if (e.path().extension() != ".cpp") continue;
    const std::string text = read_text(e.path());
    if (text.find("SetUpTestSuite()") == std::string::npos) continue;
    for (std::sregex_iterator m(text.begin(), text.end(), fixture), end; m != end; ++m) {
      shared.insert((*m)[1]);
      EXPECT_TRUE(listed.count((*m)[1])) << (*m)[1] << " (" << e.path().string()
                                         << ") has a SetUpTestSuite: list it in "
                                            "tests/shared_fixture_suites.txt";
    }
  }
  for (const auto& s : listed)
    EXPECT_TRUE(shared.count(s)) << s
                                 << " is listed but no fixture of that name has a SetUpTestSuite";
}

// `ctest -N` in the build folder of this binary: the entries the script declares.
TEST(CtestEntries, OneEntryPerTestAndPerSharedSuite) {
  const fs::path build = fs::path(LETHE_BINARY).parent_path();
  FILE* pipe = ::popen(("ctest --test-dir '" + build.string() + "' -N 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  ASSERT_EQ(::pclose(pipe), 0) << out;
  // This test itself is an entry of its own, and so is its neighbour.
  EXPECT_NE(out.find(": CtestEntries.OneEntryPerTestAndPerSharedSuite\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find(": CtestEntries.SharedFixtureSuitesAreListed\n"), std::string::npos) << out;
  // A shared-fixture suite is one "Suite.*" entry and none of its tests is listed alone (a suite of
  // an area this build leaves out has none).
  for (const auto& s : listed_suites()) {
    const std::string prefix = ": " + s + ".";
    size_t count = 0;
    for (size_t at = out.find(prefix); at != std::string::npos; at = out.find(prefix, at + 1)) {
      ++count;
      EXPECT_EQ(out.compare(at, prefix.size() + 2, prefix + "*\n"), 0) << out.substr(at, 80);
    }
    EXPECT_LE(count, 1u) << s;
  }
  EXPECT_NE(out.find(": QwenTokenizer.*\n"), std::string::npos) << out;
  // Helper tests other tests start (DISABLED_) are not entries.
  EXPECT_EQ(out.find("DISABLED_"), std::string::npos) << out;
  EXPECT_EQ(out.find("lethe_tests_not_built"), std::string::npos) << out;
}

}  // namespace
}  // namespace lethe
