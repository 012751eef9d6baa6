// npz files both ways: our writer's bytes are the ones numpy.load was shown to read
// (scripts/golden/make_seg_metrics_golden.py checks them value by value), our reader reads
// numpy.savez and savez_compressed files, and refuses what it cannot represent by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <opencv2/core.hpp>

#include "tagclip/errors.h"
#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/npz.h"
#include "test_support.h"

namespace tagclip {
namespace {

template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::string half_bytes(const std::vector<float>& values) {
  std::vector<uint16_t> bits;
  for (float v : values) bits.push_back(cv::float16_t(v).bits());
  return bytes_of(bits);
}

template <typename T>
std::vector<T> values_of(const NpyArray& array) {
  std::vector<T> values(array.bytes.size() / sizeof(T));
  std::memcpy(values.data(), array.bytes.data(), array.bytes.size());
  return values;
}

// The fixed arrays whose npz bytes are committed (and checked by numpy) as
// seg_eval_golden/npz_writer_arrays.npz; the golden script asserts the same values.
std::vector<NpyArray> fixed_arrays() {
  std::vector<float> maps;
  for (int i = 0; i < 12; ++i) maps.push_back(i * 0.25f - 1.0f);
  return {
      {"keys", "<i8", {3}, bytes_of(std::vector<int64_t>{3, 0, 14})},
      {"maps", "<f2", {2, 2, 3}, half_bytes(maps)},
      {"mask", "|u1", {2, 3}, bytes_of(std::vector<uint8_t>{0, 40, 80, 120, 160, 200})},
      {"scores", "<f4", {4}, bytes_of(std::vector<float>{0.5f, -1.25f, 1024.0f, 0.1f})},
      {"counts", "<i4", {2, 2}, bytes_of(std::vector<int32_t>{1, -2, 3, 2147483647})},
      {"scalar", "<f4", {}, bytes_of(std::vector<float>{7.0f})},
      {"empty", "<f2", {0, 3}, ""},
  };
}

ClassCams fixed_cams() {
  ClassCams cams;
  cams.keys = {2, 11};
  cams.height = 2;
  cams.width = 3;
  for (int i = 0; i < 12; ++i) {
    cams.attn_highres.push_back(i / 7.0f);
    cams.highres.push_back(1.0f - i / 7.0f);
  }
  return cams;
}

// Compares `bytes` with the committed file; on a difference writes them to a scratch file
// and says how to have numpy check and commit them.
void expect_committed(const std::string& bytes, const std::string& committed) {
  const std::string expected = testing::read_all(testing::data_path(committed));
  if (bytes == expected) return;
  const std::string name = committed.substr(committed.rfind('/') + 1);
  const std::string fresh = testing::make_scratch_dir("npz-writer-" + name) + "/" + name;
  std::ofstream(fresh, std::ios::binary) << bytes;
  ADD_FAILURE() << "the writer's bytes differ from tests/data/" << committed << " (" << bytes.size()
                << " vs " << expected.size() << " bytes); new bytes in " << fresh
                << ": check them with scripts/golden/make_seg_metrics_golden.py "
                   "--npz-writer/--cam-writer";
}

TEST(Npz, WriterGivesTheBytesNumpyWasShownToRead) {
  expect_committed(encode_npz(fixed_arrays()), "seg_eval_golden/npz_writer_arrays.npz");
  expect_committed(encode_cam_file(fixed_cams()), "seg_eval_golden/cam_file_writer.npz");
}

TEST(Npz, RoundTripKeepsNamesDtypesShapesAndBytes) {
  const std::vector<NpyArray> arrays = fixed_arrays();
  const std::vector<NpyArray> back = decode_npz(encode_npz(arrays), "memory");
  ASSERT_EQ(back.size(), arrays.size());
  for (size_t k = 0; k < arrays.size(); ++k) {
    EXPECT_EQ(back[k].name, arrays[k].name);
    EXPECT_EQ(back[k].descr, arrays[k].descr);
    EXPECT_EQ(back[k].shape, arrays[k].shape);
    EXPECT_EQ(back[k].bytes, arrays[k].bytes);
  }
}

TEST(Npz, NpyHeaderIsNumpysAndAligned) {
  const std::string npy = encode_npy(fixed_arrays()[1]);
  // numpy's format 1.0: magic, version, header length, the dict, spaces, newline, and the
  // data starting on a 64-byte boundary.
  ASSERT_EQ(npy.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)), 0);
  const size_t header_length = static_cast<uint8_t>(npy[8]) | (static_cast<uint8_t>(npy[9]) << 8);
  EXPECT_EQ((10 + header_length) % 64, 0u);
  EXPECT_EQ(npy.substr(10, 62), "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2, 3), }");
  EXPECT_EQ(npy[10 + header_length - 1], '\n');
  EXPECT_EQ(npy.size(), 10 + header_length + 24);
}

TEST(Npz, ReadsNumpySavezAndSavezCompressed) {
  // voc_0001 was written by numpy.savez (stored entries, zip64 extras), voc_0002 by
  // numpy.savez_compressed (deflate).
  for (const char* id : {"voc_0001", "voc_0002"}) {
    SCOPED_TRACE(id);
    const std::vector<NpyArray> arrays =
        read_npz(testing::data_path(std::string("seg_eval_golden/voc/cams/") + id + ".npz"));
    ASSERT_EQ(arrays.size(), 3u);
    EXPECT_EQ(arrays[0].name, "keys");
    EXPECT_EQ(arrays[0].descr, "<i8");
    EXPECT_EQ(arrays[1].name, "attn_highres");
    EXPECT_EQ(arrays[1].descr, "<f2");
    EXPECT_EQ(arrays[2].name, "highres");
    ASSERT_EQ(arrays[1].shape.size(), 3u);
    EXPECT_EQ(arrays[1].shape[0], arrays[0].shape[0]);
    EXPECT_EQ(arrays[2].shape, arrays[1].shape);
  }
  // The generator pins attn_highres[0, 0, 0] = 1, [-1, -1, -1] = 0 and highres[0, 1, 1] = 1.25.
  const ClassCams cams = read_cam_file(testing::data_path("seg_eval_golden/voc/cams/voc_0002.npz"),
                                       /*need_highres=*/true);
  EXPECT_EQ(cams.height, 48);
  EXPECT_EQ(cams.width, 31);
  EXPECT_TRUE(cams.float16);
  EXPECT_EQ(cams.attn_highres.front(), 1.0f);
  EXPECT_EQ(cams.attn_highres.back(), 0.0f);
  EXPECT_EQ(cams.highres[1 * 31 + 1], 1.25f);
}

TEST(Npz, CamFileRoundTripRoundsToFloat16) {
  const std::string path = testing::make_scratch_dir("cam-file") + "/x.npz";
  ClassCams cams = fixed_cams();
  write_cam_file(path, cams);
  const ClassCams back = read_cam_file(path, true);
  EXPECT_EQ(back.keys, cams.keys);
  EXPECT_EQ(back.height, 2);
  EXPECT_EQ(back.width, 3);
  ASSERT_EQ(back.attn_highres.size(), 12u);
  for (size_t k = 0; k < 12; ++k) {
    EXPECT_EQ(back.attn_highres[k], static_cast<float>(cv::float16_t(cams.attn_highres[k])));
    EXPECT_NEAR(back.attn_highres[k], cams.attn_highres[k], 1e-3);
    EXPECT_EQ(back.highres[k], static_cast<float>(cv::float16_t(cams.highres[k])));
  }
  // Without need_highres the unrefined maps are not decoded.
  EXPECT_TRUE(read_cam_file(path).highres.empty());
  // A file without highres cannot serve a request for it.
  cams.highres.clear();
  write_cam_file(path, cams);
  try {
    read_cam_file(path, true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.npz: CAM file has no array 'highres'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Npz, FloatToHalfRoundsToNearestEvenAsNumpy) {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even 1.
  EXPECT_EQ(static_cast<float>(cv::float16_t(1.0f + 1.0f / 2048)), 1.0f);
  EXPECT_EQ(static_cast<float>(cv::float16_t(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);
  EXPECT_EQ(static_cast<float>(cv::float16_t(65519.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(cv::float16_t(65520.0f))));
  EXPECT_EQ(static_cast<float>(cv::float16_t(1e-8f)), 0.0f);
  EXPECT_EQ(static_cast<float>(cv::float16_t(3e-8f)), 5.9604645e-08f);  // smallest subnormal
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Npz, RefusesWhatItCannotReadNamingFileAndKey) {
  const std::string fortran = testing::data_path("seg_eval_golden/fortran_order.npz");
  std::string message = error_of([&] { read_npz(fortran); });
  EXPECT_NE(message.find(fortran + ": array 'maps': Fortran-order"), std::string::npos) << message;

  const std::string float64 = testing::data_path("seg_eval_golden/float64.npz");
  message = error_of([&] { read_cam_file(float64); });
  EXPECT_NE(message.find(float64 + ": array 'attn_highres': unsupported dtype '<f8'"),
            std::string::npos)
      << message;

  const std::string dir = testing::make_scratch_dir("npz-damaged");
  std::string bytes = encode_npz(fixed_arrays());
  std::ofstream(dir + "/truncated.npz", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  message = error_of([&] { read_npz(dir + "/truncated.npz"); });
  EXPECT_NE(message.find(dir + "/truncated.npz: not a readable npz"), std::string::npos) << message;

  // The last data byte of the first entry, just before the second entry's 30-byte header.
  bytes[bytes.find("maps.npy") - 30 - 1] ^= 1;
  std::ofstream(dir + "/flipped.npz", std::ios::binary) << bytes;
  message = error_of([&] { read_npz(dir + "/flipped.npz"); });
  EXPECT_NE(message.find("CRC-32 mismatch in entry 'keys.npy'"), std::string::npos) << message;

  message = error_of([&] { read_npz(dir + "/missing.npz"); });
  EXPECT_NE(message.find(dir + "/missing.npz: cannot open"), std::string::npos) << message;

  EXPECT_THROW(encode_npz({{"x", "<f2", {2, 2}, "abc"}}), ShapeError);
  EXPECT_THROW(encode_npz({{"x", ">f4", {1}, "abcd"}}), ShapeError);
}

}  // namespace
}  // namespace tagclip
