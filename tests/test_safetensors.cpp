// The safetensors reader: a round trip of every dtype LibTorch has, and a damaged header of
// each kind refused with the file (and tensor) named before any tensor is read.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "expect_throw.h"
#include "tagclip/errors.h"
#include "tagclip/model/safetensors.h"
#include "test_support.h"

namespace tagclip {
namespace {

std::string scratch_file(const std::string& name) {
  return testing::make_scratch_dir("safetensors") + "/" + name;
}

// Writes "<8-byte length><header><data>" as it is given, to build damaged files.
std::string write_raw(const std::string& name, const std::string& header, const std::string& data,
                      int64_t declared_length = -1) {
  const std::string path = scratch_file(name);
  const uint64_t length = declared_length >= 0 ? declared_length : header.size();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  std::ofstream(path, std::ios::binary) << bytes << header << data;
  return path;
}

TEST(Safetensors, RoundTripKeepsEveryDtypeShapeAndValue) {
  StateDict state;
  state["a.half"] = at::randn({3, 5}).to(at::kHalf);
  state["b.float"] = at::randn({2, 3, 4});
  state["c.bfloat"] = at::randn({7}).to(at::kBFloat16);
  state["d.double"] = at::randn({2, 2}, at::kDouble);
  state["e.long"] = at::arange(10, at::kLong);
  state["f.int"] = at::arange(4, at::kInt).reshape({2, 2});
  state["g.bool"] = at::rand({5}) > 0.5;
  state["h.scalar"] = at::tensor(4.6052f);
  state["i.empty"] = at::empty({0, 3});
  state["j.strided"] = at::randn({4, 6}).t();  // not contiguous: written in logical order
  const std::string path = scratch_file("round-trip.safetensors");
  write_safetensors(path, state, {{"format", "pt"}});

  const StateDict loaded = read_safetensors(path);
  ASSERT_EQ(loaded.size(), state.size());
  for (const auto& [name, tensor] : state) {
    ASSERT_TRUE(loaded.count(name)) << name;
    EXPECT_EQ(loaded.at(name).scalar_type(), tensor.scalar_type()) << name;
    EXPECT_EQ(loaded.at(name).sizes(), tensor.sizes()) << name;
    EXPECT_TRUE(at::equal(loaded.at(name), tensor)) << name;
  }
  EXPECT_EQ(read_safetensors_metadata(path),
            (std::map<std::string, std::string>{{"format", "pt"}}));
}

TEST(Safetensors, ReadsAHandWrittenFileAsTheFormatDefinesIt) {
  // Two float16 values (1.0, -2.0) then one int64 (7), little-endian.
  const std::string data =
      std::string("\x00\x3c\x00\xc0", 4) + std::string("\x07\0\0\0\0\0\0\0", 8);
  const std::string path = write_raw(
      "hand.safetensors",
      R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
      R"("n":{"dtype":"I64","shape":[],"data_offsets":[4,12]},"__metadata__":{"k":"v"}}   )",
      data);
  const StateDict state = read_safetensors(path);
  EXPECT_TRUE(at::equal(state.at("w"), at::tensor({1.0f, -2.0f}).to(at::kHalf)));
  EXPECT_EQ(state.at("n").item<int64_t>(), 7);
}

struct DamagedCase {
  const char* name;
  std::string header;
  std::string data;
  int64_t declared_length;
  const char* expected;  // part of the message
};

TEST(Safetensors, RefusesEachKindOfDamagedHeaderNamingTheFile) {
  const std::string four(4, '\1');
  const std::vector<DamagedCase> cases = {
      {"length-past-end", "{}", "", 1000, "does not fit the file"},
      {"huge-length", "{}", "", int64_t{1} << 40, "does not fit the file"},
      {"not-json", "{oops", "", -1, "not a JSON object"},
      {"not-object", "[1,2]", "", -1, "not a JSON object"},
      {"no-dtype", R"({"w":{"shape":[1],"data_offsets":[0,4]}})", four, -1, "no dtype"},
      {"unknown-dtype", R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", four, -1,
       "'F8_E4M3' is not supported"},
      {"negative-shape", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four, -1,
       "not non-negative"},
      {"overflowing-shape",
       R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", four, -1,
       "too large"},
      {"offsets-past-data", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", four, -1,
       "outside the 4 data bytes"},
      {"reversed-offsets", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four, -1,
       "outside"},
      {"size-mismatch", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four, -1,
       "needs 8"},
      {"overlap",
       R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
       R"("b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}})",
       four, -1, "overlap"},
      {"gap", R"({"w":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}})", four, -1, "gap"},
      {"trailing-bytes", R"({"w":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", four, -1,
       "has 4 data bytes"},
      {"metadata-not-string", R"({"__metadata__":{"k":1}})", "", -1, "not a string"},
      {"offsets-not-pair", R"({"w":{"dtype":"F16","shape":[1],"data_offsets":[0]}})", "\1\1", -1,
       "no data_offsets"},
  };
  for (const DamagedCase& c : cases) {
    const std::string path =
        write_raw(std::string(c.name) + ".safetensors", c.header, c.data, c.declared_length);
    testing::expect_throw_with<ModelError>([&] { read_safetensors(path); }, path);
    testing::expect_throw_with<ModelError>([&] { read_safetensors(path); }, c.expected);
  }
}

TEST(Safetensors, RefusesFilesTooShortForAHeaderLength) {
  const std::string path = scratch_file("short.safetensors");
  std::ofstream(path, std::ios::binary) << "\x02\0\0";
  testing::expect_throw_with<ModelError>([&] { read_safetensors(path); }, "too short");
  testing::expect_throw_with<ModelError>(
      [&] { read_safetensors(scratch_file("absent.safetensors")); }, "absent.safetensors");
}

}  // namespace
}  // namespace tagclip
