// Core utilities: SHA-256 known answers, atomic file and folder writes, JSONL errors naming
// file:line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "expect_close.h"

namespace lethe {

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(core::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(core::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(core::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(core::sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(AtomicFile, WritesAndReplacesWithoutTempLeftovers) {
  auto dir = std::filesystem::path(test::make_temp_dir("atomic"));
  auto path = dir / "sub" / "out.txt";
  core::write_file_atomic(path, "first");
  core::write_file_atomic(path, "second");
  EXPECT_EQ(core::read_file(path), "second");
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir / "sub")) (void)e, ++files;
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(dir);
}

namespace {

// The names in `dir`, sorted ("a.txt", "sub/b.txt", "sub/").
std::vector<std::string> tree(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    names.push_back(std::filesystem::relative(e.path(), dir).string() +
                    (e.is_directory() ? "/" : ""));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST(AtomicDir, CreatesAndReplacesAFolderWithoutTempLeftovers) {
  const auto root = std::filesystem::path(test::make_temp_dir("atomic_dir"));
  const auto target = root / "out" / "step-3";
  core::write_dir_atomic(target, [](const std::filesystem::path& dir) {
    core::write_file_atomic(dir / "a.txt", "old a");
    core::write_file_atomic(dir / "stale.txt", "only in the old folder");
  });
  EXPECT_EQ(core::read_file(target / "a.txt"), "old a");
  core::write_dir_atomic(target, [](const std::filesystem::path& dir) {
    core::write_file_atomic(dir / "a.txt", "new a");
    core::write_file_atomic(dir / "sub" / "b.txt", "new b");
  });
  // The new folder replaced the old one whole (no file of the old one is left) and nothing else
  // is beside it: no temporary, no moved-aside old folder.
  EXPECT_EQ(tree(target), (std::vector<std::string>{"a.txt", "sub/", "sub/b.txt"}));
  EXPECT_EQ(core::read_file(target / "a.txt"), "new a");
  EXPECT_EQ(core::read_file(target / "sub" / "b.txt"), "new b");
  EXPECT_EQ(tree(root / "out"), (std::vector<std::string>{"step-3/", "step-3/a.txt", "step-3/sub/",
                                                          "step-3/sub/b.txt"}));
  std::filesystem::remove_all(root);
}

TEST(AtomicDir, AWriterThatThrowsLeavesTheOldFolderIntact) {
  const auto root = std::filesystem::path(test::make_temp_dir("atomic_dir_throw"));
  const auto target = root / "export";
  core::write_dir_atomic(target, [](const std::filesystem::path& dir) {
    core::write_file_atomic(dir / "model.safetensors", "old weights");
  });
  EXPECT_THROW(core::write_dir_atomic(target,
                                      [](const std::filesystem::path& dir) {
                                        core::write_file_atomic(dir / "model.safetensors", "new");
                                        core::write_file_atomic(dir / "half.json", "{");
                                        throw Error("disk full");
                                      }),
               Error);
  EXPECT_EQ(tree(root), (std::vector<std::string>{"export/", "export/model.safetensors"}));
  EXPECT_EQ(core::read_file(target / "model.safetensors"), "old weights");
  // Also when there was no folder yet: nothing appears.
  EXPECT_THROW(core::write_dir_atomic(root / "fresh",
                                      [](const std::filesystem::path&) { throw Error("no"); }),
               Error);
  EXPECT_FALSE(std::filesystem::exists(root / "fresh"));
  EXPECT_EQ(tree(root).size(), 2u);
  std::filesystem::remove_all(root);
}

TEST(JsonIo, MalformedLineNamesFileAndLine) {
  auto dir = std::filesystem::path(test::make_temp_dir("jsonl"));
  auto path = dir / "bad.jsonl";
  core::write_file_atomic(path, "{\"a\": 1}\n\n{\"a\": 2\n");
  try {
    core::read_jsonl(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:3:"), std::string::npos) << e.what();
  }
  core::write_file_atomic(path, "{\"a\": 1}\n\n{\"a\": 2}\n");
  EXPECT_EQ(core::read_jsonl(path).size(), 2u);
  std::filesystem::remove_all(dir);
}

}  // namespace lethe
