// Core utilities: SHA-256 known answers, atomic writes, JSONL errors naming file:line.
#include <filesystem>

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/sha256.h"
#include "expect_close.h"

namespace lethe {

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(core::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(core::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
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
