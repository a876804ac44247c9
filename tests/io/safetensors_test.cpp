// safetensors: fixture parity (reader and byte-identical writer), bit-exact round trips, zero-copy
// views, and one test per corrupt-file case of issue 2.
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "expect_close.h"
#include "io_test_util.h"

namespace lethe {
namespace fs = std::filesystem;

namespace {
// Raw little-endian bytes of a tensor, for bit-exact comparisons independent of dtype semantics.
std::string bytes_of(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}
}  // namespace

TEST(Safetensors, ReadsFixtureCheckpoint) {
  const fs::path path = test::fixture_path("qwen2-tiny/model.safetensors");
  auto file = io::SafetensorsFile::open(path);
  EXPECT_EQ(file->metadata().at("format"), "pt");
  EXPECT_EQ(file->names().size(), 26u);  // 2 layers x 12 + embeddings + final norm (lm_head tied)
  auto embed = file->tensor("model.embed_tokens.weight");
  EXPECT_EQ(embed.sizes(), (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(embed.scalar_type(), torch::kFloat);
  EXPECT_EQ(file->tensor("model.layers.1.mlp.down_proj.weight").sizes(),
            (std::vector<int64_t>{64, 176}));
  EXPECT_EQ(file->tensor("model.layers.0.self_attn.k_proj.bias").sizes(),
            (std::vector<int64_t>{32}));
  // Values equal the raw bytes read independently of the mapping.
  const std::string raw = core::read_file(path);
  uint64_t header_len = 0;
  std::memcpy(&header_len, raw.data(), 8);
  for (const auto& name : file->names()) {
    const auto& info = file->info(name);
    EXPECT_EQ(bytes_of(file->tensor(name)),
              raw.substr(8 + header_len + info.begin, info.end - info.begin))
        << name;
  }
}

TEST(Safetensors, TensorsAreZeroCopyViewsThatOutliveTheFile) {
  auto file = io::SafetensorsFile::open(test::fixture_path("qwen2-tiny/model.safetensors"));
  torch::Tensor a = file->tensor("model.norm.weight");
  torch::Tensor b = file->tensor("model.norm.weight");
  EXPECT_EQ(a.data_ptr(), b.data_ptr());  // both alias the mapping: no copy was made
  torch::Tensor expected = a.clone();
  file.reset();  // the mapping stays alive through the tensors
  EXPECT_TRUE(torch::equal(a, expected));
  // Writing into a view changes neither the file nor a fresh load (private mapping).
  a.add_(1.0f);
  auto again = io::load_safetensors(test::fixture_path("qwen2-tiny/model.safetensors"));
  EXPECT_TRUE(torch::equal(again.at("model.norm.weight"), expected));
}

TEST(Safetensors, WriterIsByteIdenticalToPythonWriter) {
  auto dir = fs::path(test::make_temp_dir("st_parity"));
  for (const char* fixture :
       {"qwen2-tiny/model.safetensors", "qwen2-tiny-lora/adapter_model.safetensors"}) {
    const fs::path src = test::fixture_path(fixture);
    const fs::path dst = dir / src.filename();
    io::write_safetensors(dst, io::load_safetensors(src));
    EXPECT_EQ(core::sha256_file(dst), core::sha256_file(src)) << fixture;
  }
  fs::remove_all(dir);
}

TEST(Safetensors, RoundTripIsBitIdenticalForEveryDtype) {
  torch::manual_seed(0);
  io::StateDict tensors;
  tensors["f32"] = torch::randn({3, 5});
  tensors["bf16"] = torch::randn({7, 3}).to(torch::kBFloat16);
  tensors["f16"] = torch::randn({2, 9}).to(torch::kHalf);
  tensors["f64"] = torch::randn({4});
  tensors["f64"] = tensors["f64"].to(torch::kDouble);
  tensors["i64"] = torch::randint(-1000000, 1000000, {6}, torch::kLong);
  tensors["i32"] = torch::randint(-1000, 1000, {2, 2}, torch::kInt);
  tensors["i16"] = torch::randint(-1000, 1000, {3}, torch::kShort);
  tensors["u8"] = torch::randint(0, 255, {5}, torch::kByte);
  tensors["i8"] = torch::randint(-128, 127, {5}, torch::kChar);
  tensors["bool"] = torch::rand({3}) > 0.5;
  tensors["scalar"] = torch::tensor(3.5f);
  tensors["empty"] = torch::zeros({0, 4});
  tensors["transposed"] = torch::randn({4, 6}).t();  // non-contiguous input
  tensors["nan_inf"] = torch::tensor({NAN, INFINITY, -0.0f}).to(torch::kBFloat16);

  auto dir = fs::path(test::make_temp_dir("st_roundtrip"));
  const fs::path path = dir / "all.safetensors";
  io::write_safetensors(path, tensors, {{"format", "pt"}, {"note", "x\"y"}});
  auto file = io::SafetensorsFile::open(path);
  EXPECT_EQ(file->metadata().at("note"), "x\"y");
  ASSERT_EQ(file->names().size(), tensors.size());
  for (const auto& [name, want] : tensors) {
    torch::Tensor got = file->tensor(name);
    EXPECT_EQ(got.scalar_type(), want.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), want.sizes()) << name;
    EXPECT_EQ(bytes_of(got), bytes_of(want)) << name;
    // The writer orders by dtype width, so every stored tensor is naturally aligned: a view.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got.data_ptr()) % got.element_size(), 0u) << name;
  }
  EXPECT_EQ(file->names().front(), "i64");  // widest dtypes first, as the Python writer
  EXPECT_EQ(file->info("f32").dtype_name, "F32");
  EXPECT_EQ(file->info("bf16").dtype_name, "BF16");
  // Header padded with spaces to a multiple of 8.
  const std::string raw = core::read_file(path);
  uint64_t header_len = 0;
  std::memcpy(&header_len, raw.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  // No temporary files are left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(Safetensors, ToleratesPaddingGapsAndCopiesMisalignedTensors) {
  auto dir = fs::path(test::make_temp_dir("st_gaps"));
  float values[2] = {1.5f, -2.25f};
  std::string payload(reinterpret_cast<const char*>(values), 8);
  // "a" at offset 2 (misaligned for F32), a 6-byte gap, "b" at 16, then trailing bytes.
  std::string data = std::string(2, '\0') + payload + std::string(6, '\0') + payload + "xyz";
  const fs::path path = dir / "gaps.safetensors";
  test::write_raw_safetensors(path,
                              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[2,10]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}  )",
                              data);
  auto loaded = io::load_safetensors(path);
  auto want = torch::tensor({1.5f, -2.25f});
  EXPECT_TRUE(torch::equal(loaded.at("a"), want));
  EXPECT_TRUE(torch::equal(loaded.at("b"), want));
  EXPECT_TRUE(io::SafetensorsFile::open(path)->metadata().empty());
  fs::remove_all(dir);
}

TEST(Safetensors, CorruptFilesGiveOneLineErrorsNamingFileAndProblem) {
  auto dir = fs::path(test::make_temp_dir("st_corrupt"));
  const std::string data16(16, '\0');
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
  struct Case {
    std::string name, header, data;
    int64_t header_len;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"header_beyond_file", "{" + ok_entry + "}", data16, 1000000, "goes beyond the end"},
      {"truncated_data", "{" + ok_entry + "}", std::string(10, '\0'), -1, "out of range"},
      {"offsets_out_of_range", R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}})",
       data16, -1, "out of range"},
      {"overlapping",
       R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
       data16, -1, "overlap"},
      {"unknown_dtype", R"({"w":{"dtype":"F17","shape":[4],"data_offsets":[0,16]}})", data16, -1,
       "unknown dtype 'F17'"},
      {"unsupported_dtype", R"({"w":{"dtype":"U32","shape":[4],"data_offsets":[0,16]}})", data16,
       -1, "not supported"},
      {"wrong_byte_count", R"({"w":{"dtype":"F32","shape":[3,2],"data_offsets":[0,16]}})", data16,
       -1, "does not match shape [3, 2]"},
      {"invalid_json", R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16])", data16, -1,
       "invalid header JSON"},
      {"not_an_object", "[1,2]", data16, -1, "header must be a JSON object"},
      {"missing_offsets", R"({"w":{"dtype":"F32","shape":[4]}})", data16, -1,
       "lacks 'data_offsets'"},
      {"end_before_begin", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data16, -1,
       "end before begin"},
      {"negative_dim", R"({"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}})", data16, -1,
       "non-negative integer"},
      {"metadata_not_strings", R"({"__metadata__":{"format":1},)" + ok_entry + "}", data16, -1,
       "__metadata__ value for 'format' must be a string"},
      {"too_short", "", "", -2, "too short"},
  };
  for (const auto& c : cases) {
    const fs::path path = dir / (c.name + ".safetensors");
    if (c.header_len == -2) {
      core::write_file_atomic(path, "abc");
    } else {
      test::write_raw_safetensors(path, c.header, c.data, c.header_len);
    }
    const std::string message = test::error_of([&] { io::load_safetensors(path); });
    EXPECT_HAS(message, path.string()) << c.name;
    EXPECT_HAS(message, c.expected) << c.name;
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.name << ": " << message;
  }
  const std::string missing = (dir / "nope.safetensors").string();
  EXPECT_HAS(test::error_of([&] { io::load_safetensors(missing); }), missing + ": cannot open");
  fs::remove_all(dir);
}

TEST(Safetensors, RandomHeaderCorruptionNeverCrashes) {
  // Flips random bytes in the length field and the header of the adapter fixture: every outcome
  // must be a clean load (then every tensor is readable) or a lethe::Error naming the file.
  const std::string original =
      core::read_file(test::fixture_path("qwen2-tiny-lora/adapter_model.safetensors"));
  uint64_t header_len = 0;
  std::memcpy(&header_len, original.data(), 8);
  auto dir = fs::path(test::make_temp_dir("st_fuzz"));
  const fs::path path = dir / "fuzz.safetensors";
  std::mt19937 rng(1234);
  int errors = 0, loads = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes = original;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      size_t pos = rng() % (8 + header_len);
      // Digits, quotes, brackets and commas are where the structure is; hit them half the time.
      const char interesting[] = "0123456789\"[]{},:-. ";
      bytes[pos] = (rng() % 2) ? interesting[rng() % (sizeof(interesting) - 1)]
                               : static_cast<char>(rng() % 256);
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;  // no fsync: keeps it fast
    try {
      auto file = io::SafetensorsFile::open(path);
      for (const auto& name : file->names()) {
        torch::Tensor t = file->tensor(name);
        if (t.is_floating_point()) (void)t.sum().item<double>();
      }
      ++loads;
    } catch (const lethe::Error& e) {
      ++errors;
      EXPECT_HAS(e.what(), path.string());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "trial " << trial << ": non-lethe exception: " << e.what();
    }
  }
  EXPECT_GT(errors, 100);  // most corruptions are detected
  EXPECT_GT(loads, 0);     // and harmless ones (a changed name) still load
  fs::remove_all(dir);
}

TEST(Safetensors, WriterRejectsWhatItCannotStore) {
  auto dir = fs::path(test::make_temp_dir("st_writer_bad"));
  io::StateDict complex{{"c", torch::zeros({2}, torch::kComplexFloat)}};
  EXPECT_HAS(test::error_of([&] { io::write_safetensors(dir / "c.safetensors", complex); }),
             "cannot store dtype");
  io::StateDict reserved{{"__metadata__", torch::zeros({2})}};
  EXPECT_HAS(test::error_of([&] { io::write_safetensors(dir / "m.safetensors", reserved); }),
             "not a tensor name");
  EXPECT_FALSE(fs::exists(dir / "c.safetensors"));
  fs::remove_all(dir);
}

TEST(Safetensors, DtypeNames) {
  EXPECT_EQ(io::safetensors_dtype("BF16"), torch::kBFloat16);
  EXPECT_EQ(io::safetensors_dtype("F16"), torch::kHalf);
  EXPECT_EQ(io::safetensors_dtype_name(torch::kFloat), "F32");
  EXPECT_EQ(io::safetensors_dtype_name(torch::kLong), "I64");
  EXPECT_HAS(test::error_of([] { io::safetensors_dtype("Q4"); }), "unknown safetensors dtype");
}

}  // namespace lethe
