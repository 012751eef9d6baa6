// decode_image: pixel layout per source format, EXIF orientation, and one ImageError per
// way a file can fail to be an image. Inputs are in tests/data/images (see its README).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tagclip/errors.h"
#include "tagclip/io/image_io.h"
#include "tagclip/segment/cv2_imread.h"
#include "test_support.h"

namespace tagclip {
namespace {

using tagclip::testing::data_path;
using tagclip::testing::make_scratch_dir;

std::string image_path(const std::string& name) { return data_path("images/" + name); }

cv::Vec3b pixel(const cv::Mat& rgb, int row, int col) { return rgb.at<cv::Vec3b>(row, col); }

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// decode_image(path) must throw an ImageError that names the file and says `problem`.
void expect_image_error(const std::string& path, const std::string& problem,
                        const ImageDecodeOptions& options = {}) {
  try {
    decode_image(path, options);
    ADD_FAILURE() << path << ": decoded, expected an ImageError about '" << problem << "'";
  } catch (const ImageError& e) {
    EXPECT_EQ(e.path(), path);
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
    std::cout << "[ error    ] " << message << "\n";
  }
}

TEST(DecodeImage, JpegIsRgbOrder) {
  // Top-left quadrant of the stored (unrotated) pixels is red.
  const cv::Mat rgb = decode_image(image_path("exif_orientation6.jpg"));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  const cv::Vec3b top_left = pixel(rgb, 2, 2);
  EXPECT_GT(top_left[0], 230);
  EXPECT_LT(top_left[1], 25);
  EXPECT_LT(top_left[2], 25);
}

TEST(DecodeImage, GrayBecomesThreeEqualChannels) {
  const cv::Mat rgb = decode_image(image_path("gray.png"));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  ASSERT_EQ(rgb.size(), cv::Size(20, 12));
  for (int y = 0; y < rgb.rows; ++y) {
    for (int x = 0; x < rgb.cols; ++x) {
      const auto v = static_cast<uchar>(x * 12 + y * 5);  // how the file was made
      ASSERT_EQ(pixel(rgb, y, x), cv::Vec3b(v, v, v)) << y << "," << x;
    }
  }
}

TEST(DecodeImage, PaletteIsExpandedToItsColours) {
  const cv::Mat rgb = decode_image(image_path("palette.png"));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(pixel(rgb, 0, 0), cv::Vec3b(200, 30, 40));
  EXPECT_EQ(pixel(rgb, 0, 19), cv::Vec3b(10, 220, 90));
  EXPECT_EQ(pixel(rgb, 11, 0), cv::Vec3b(250, 250, 250));
  EXPECT_EQ(pixel(rgb, 11, 19), cv::Vec3b(20, 20, 160));
}

TEST(DecodeImage, AlphaIsDroppedNotComposited) {
  const cv::Mat rgb = decode_image(image_path("rgba.png"));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(pixel(rgb, 0, 0), cv::Vec3b(200, 30, 40));  // alpha 0 there
  EXPECT_EQ(pixel(rgb, 11, 19), cv::Vec3b(20, 20, 160));
}

TEST(DecodeImage, SixteenBitKeepsTheHighByte) {
  const cv::Mat gray = decode_image(image_path("gray16.png"));
  const cv::Mat colour = decode_image(image_path("rgb16.png"));
  ASSERT_EQ(gray.type(), CV_8UC3);
  ASSERT_EQ(colour.type(), CV_8UC3);
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 20; ++x) {
      const int v = x * 3000 + y * 400 + 77;  // how the files were made
      const auto hi = [](int sample) { return static_cast<uchar>(sample >> 8); };
      ASSERT_EQ(pixel(gray, y, x), cv::Vec3b(hi(v), hi(v), hi(v))) << y << "," << x;
      ASSERT_EQ(pixel(colour, y, x), cv::Vec3b(hi(v), hi(65535 - v), hi(v / 3))) << y << "," << x;
    }
  }
}

TEST(DecodeImage, FloatIsScaledFromUnitRangeAndSaturated) {
  const cv::Mat raw = cv::imread(image_path("float32.tiff"), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(raw.type(), CV_32FC1);
  const cv::Mat rgb = decode_image(image_path("float32.tiff"));
  ASSERT_EQ(rgb.type(), CV_8UC3);
  for (int y = 0; y < raw.rows; ++y) {
    for (int x = 0; x < raw.cols; ++x) {
      const double scaled = std::round(raw.at<float>(y, x) * 255.0);
      const auto v = static_cast<uchar>(std::min(std::max(scaled, 0.0), 255.0));
      ASSERT_EQ(pixel(rgb, y, x), cv::Vec3b(v, v, v)) << y << "," << x;
    }
  }
  EXPECT_EQ(pixel(rgb, 0, 0)[0], 0);    // -0.25
  EXPECT_EQ(pixel(rgb, 5, 7)[0], 255);  // 1.5
}

TEST(DecodeImage, ExifOrientationIgnoredByDefaultLikePil) {
  const cv::Mat stored = decode_image(image_path("exif_orientation6.jpg"));
  EXPECT_EQ(stored.size(), cv::Size(24, 16));  // width 24, height 16, as PIL reports
}

TEST(DecodeImage, ExifOrientationAppliedOnRequest) {
  ImageDecodeOptions options;
  options.apply_exif_orientation = true;
  const cv::Mat shown = decode_image(image_path("exif_orientation6.jpg"), options);
  ASSERT_EQ(shown.type(), CV_8UC3);
  ASSERT_EQ(shown.size(), cv::Size(16, 24));
  // Orientation 6 = rotate 90 degrees clockwise: stored bottom-left (blue) goes top-left,
  // stored top-left (red) goes top-right.
  const cv::Vec3b top_left = pixel(shown, 2, 2), top_right = pixel(shown, 2, 13);
  EXPECT_GT(top_left[2], 230);
  EXPECT_LT(top_left[0], 25);
  EXPECT_GT(top_right[0], 230);
  EXPECT_LT(top_right[2], 25);
}

// The orientation-aware path decodes with other OpenCV flags; without an Orientation tag it
// must give the same pixels for every kind of file.
TEST(DecodeImage, ExifPathAgreesWhenThereIsNoOrientation) {
  ImageDecodeOptions options;
  options.apply_exif_orientation = true;
  for (const char* name : {"fruits.jpg", "gray.png", "palette.png", "rgba.png", "gray16.png",
                           "rgb16.png", "float32.tiff"}) {
    const cv::Mat plain = decode_image(image_path(name));
    const cv::Mat oriented = decode_image(image_path(name), options);
    ASSERT_EQ(oriented.type(), CV_8UC3) << name;
    ASSERT_EQ(oriented.size(), plain.size()) << name;
    EXPECT_EQ(cv::norm(plain, oriented, cv::NORM_INF), 0.0) << name;
  }
}

TEST(DecodeImageErrors, MissingFile) {
  expect_image_error(image_path("no_such.jpg"), "no such file");
}

TEST(DecodeImageErrors, Directory) { expect_image_error(data_path("images"), "is a directory"); }

TEST(DecodeImageErrors, ZeroBytes) { expect_image_error(image_path("empty.jpg"), "empty"); }

TEST(DecodeImageErrors, TruncatedJpeg) {
  expect_image_error(image_path("truncated.jpg"), "truncated");
}

TEST(DecodeImageErrors, TextFileWithImageExtension) {
  expect_image_error(image_path("not_an_image.png"), "not a recognised image format");
}

// A fuzzer-found file (tests/data/fuzz/image_decode): DICOM's "DICM" at byte 128 sent it to
// OpenCV's GDCM decoder, which failed an assertion and aborted the whole process.
TEST(DecodeImageErrors, FuzzerFindingsAreImageErrors) {
  const std::string folder = data_path("fuzz/image_decode");
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    ++inputs;
    expect_image_error(entry.path(), "not a recognised image format");
  }
  EXPECT_GT(inputs, 0);
}

// Formats OpenCV decodes but tagclip does not read are refused by signature, before any
// decoder sees them; the formats it reads still decode.
TEST(DecodeImageErrors, OnlyTheListedFormatsReachADecoder) {
  cv::Mat colour(23, 37, CV_8UC3);
  cv::randu(colour, 0, 256);
  cv::Mat unit_floats;
  colour.convertTo(unit_floats, CV_32FC3, 1.0 / 255);
  const std::string dir = make_scratch_dir("image_io");
  auto encoded_file = [&](const std::string& ext, const cv::Mat& image) {
    std::vector<std::uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(ext, image, bytes)) << ext;
    const std::string path = dir + "/encoded" + ext;
    write_bytes(path, bytes);
    return path;
  };
  for (const char* ext : {".ras", ".pam"}) {
    const std::string path = encoded_file(ext, colour);
    ASSERT_FALSE(cv::imread(path, cv::IMREAD_UNCHANGED).empty()) << ext << ": OpenCV reads it";
    expect_image_error(path, "not a recognised image format (tagclip reads JPEG, PNG");
  }
  for (const char* ext : {".hdr", ".pfm"}) {
    const std::string path = encoded_file(ext, unit_floats);
    ASSERT_FALSE(cv::imread(path, cv::IMREAD_UNCHANGED).empty()) << ext << ": OpenCV reads it";
    expect_image_error(path, "not a recognised image format");
  }
  for (const char* ext : {".png", ".jpg", ".bmp", ".tiff", ".webp", ".ppm"}) {
    const cv::Mat rgb = decode_image(encoded_file(ext, colour));
    EXPECT_EQ(rgb.size(), colour.size()) << ext;
  }
}

// cv2_imread, the CRF's reading of the image as cv2.imread gives it, is imread for the listed
// formats (EXIF orientation included) and refuses the fuzzer's DICOM-signed bytes alike.
TEST(Cv2Imread, ListedFormatsAsImreadOthersRefused) {
  for (const char* name : {"exif_orientation6.jpg", "gray.png", "rgba.png", "rgb16.png"}) {
    for (int flags : {cv::IMREAD_COLOR, cv::IMREAD_UNCHANGED}) {
      const cv::Mat expected = cv::imread(image_path(name), flags);
      const cv::Mat got = cv2_imread(image_path(name), flags);
      ASSERT_FALSE(expected.empty()) << name;
      ASSERT_EQ(got.size(), expected.size()) << name;
      ASSERT_EQ(got.type(), expected.type()) << name;
      EXPECT_EQ(cv::norm(got, expected, cv::NORM_INF), 0.0) << name << " flags " << flags;
    }
  }
  const std::string finding = data_path("fuzz/image_decode/dicom-signature-aborts-gdcm.bin");
  for (const auto& [path, problem] : std::vector<std::pair<std::string, std::string>>{
           {finding, "not a recognised image format"},
           {image_path("empty.jpg"), "file is empty"},
           {image_path("no_such.jpg"), "no such file"}}) {
    try {
      cv2_imread(path, cv::IMREAD_COLOR);
      ADD_FAILURE() << path << ": read, expected an ImageError";
    } catch (const ImageError& e) {
      EXPECT_EQ(e.path(), path);
      EXPECT_NE(e.problem().find(problem), std::string::npos) << e.what();
    }
  }
}

TEST(DecodeImageErrors, TruncatedPng) {
  std::ifstream in(image_path("rgb16.png"), std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  bytes.resize(bytes.size() / 2);
  const std::string path = make_scratch_dir("image_io") + "/truncated.png";
  write_bytes(path, bytes);
  expect_image_error(path, "cannot be decoded");
}

// A PNG that is only a signature and an IHDR announcing 20000 x 20000 pixels: rejected from
// the header, before OpenCV could allocate 1.2 GB.
TEST(DecodeImageErrors, DecompressionBombPngHeader) {
  const std::vector<std::uint8_t> png = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1A, '\n', 0,    0, 0,
                                         13,   'I',  'H', 'D', 'R',  0,    0,    0x4E, 0x20, 0, 0,
                                         0x4E, 0x20, 8,   2,   0,    0,    0,    0,    0,    0, 0};
  const std::string path = make_scratch_dir("image_io") + "/bomb.png";
  write_bytes(path, png);
  expect_image_error(path, "20000x20000 = 400000000 pixels, over the limit of 178956970");
}

TEST(DecodeImageErrors, DecompressionBombJpegHeader) {
  // SOI, then a baseline SOF0 of 30000 x 30000 with three components, then nothing.
  const std::vector<std::uint8_t> jpeg = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08,
                                          0x75, 0x30, 0x75, 0x30, 0x03, 0x01, 0x22,
                                          0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01};
  const std::string path = make_scratch_dir("image_io") + "/bomb.jpg";
  write_bytes(path, jpeg);
  expect_image_error(path, "over the limit");
}

// "MM" with bytes 2 and 3 summing to 42 passes the header parser's TIFF test but is no TIFF
// signature ("MM\0*"): the error names the format, not the 30000 x 30000 size its
// directory claims.
TEST(DecodeImageErrors, UnlistedSignatureIsNamedBeforeTheSizeCheck) {
  const std::vector<std::uint8_t> not_tiff = {
      'M',  'M',  0x15, 0x15, 0, 0, 0, 8,                     // byte order, "42", IFD at 8
      0,    2,                                                // two entries
      0x01, 0x00, 0,    4,    0, 0, 0, 1, 0, 0, 0x75, 0x30,   // ImageWidth  = 30000
      0x01, 0x01, 0,    4,    0, 0, 0, 1, 0, 0, 0x75, 0x30};  // ImageLength = 30000
  ASSERT_TRUE(read_image_header_size(not_tiff).has_value());
  const std::string path = make_scratch_dir("image_io") + "/not_tiff.tif";
  write_bytes(path, not_tiff);
  expect_image_error(path, "not a recognised image format");
}

TEST(DecodeImage, MaxPixelsOptionIsInclusive) {
  ImageDecodeOptions options;
  options.max_pixels = 240;  // gray.png is 20 x 12
  EXPECT_EQ(decode_image(image_path("gray.png"), options).total(), 240u);
  options.max_pixels = 239;
  expect_image_error(image_path("gray.png"), "over the limit of 239", options);
  options.max_pixels = std::nullopt;  // no limit of ours
  EXPECT_EQ(decode_image(image_path("gray.png"), options).total(), 240u);
}

TEST(ReadImageHeaderSize, EveryParsedFormat) {
  cv::Mat colour(23, 37, CV_8UC3);
  cv::randu(colour, 0, 256);
  cv::Mat gray(23, 37, CV_8UC1);
  cv::randu(gray, 0, 256);
  struct Encoding {
    std::string ext;
    const cv::Mat* image;
    std::vector<int> params;
  };
  const std::vector<Encoding> encodings = {
      {".png", &colour, {}},
      {".jpg", &colour, {}},
      {".jpg", &colour, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}},
      {".bmp", &colour, {}},
      {".tiff", &colour, {}},
      {".webp", &colour, {cv::IMWRITE_WEBP_QUALITY, 80}},
      {".webp", &colour, {cv::IMWRITE_WEBP_QUALITY, 101}},  // lossless: VP8L
      {".ppm", &colour, {}},
      {".pgm", &gray, {}},
      {".pbm", &gray, {}},
      {".pgm", &gray, {cv::IMWRITE_PXM_BINARY, 0}},  // ASCII P2
  };
  for (const Encoding& encoding : encodings) {
    std::vector<std::uint8_t> bytes;
    ASSERT_TRUE(cv::imencode(encoding.ext, *encoding.image, bytes, encoding.params))
        << encoding.ext;
    const std::optional<ImageHeaderSize> size = read_image_header_size(bytes);
    ASSERT_TRUE(size.has_value()) << encoding.ext;
    EXPECT_EQ(size->width, 37) << encoding.ext;
    EXPECT_EQ(size->height, 23) << encoding.ext;
  }
  const std::string text = "not an image";
  EXPECT_FALSE(read_image_header_size(std::vector<std::uint8_t>(text.begin(), text.end())));
  EXPECT_FALSE(read_image_header_size({}));
  EXPECT_FALSE(read_image_header_size({0x89, 'P', 'N', 'G'}));  // cut inside the signature
}

TEST(HasImageExtension, CaseInsensitiveKnownList) {
  for (const char* name : {"a.jpg", "a.JPG", "b.jpeg", "c.Png", "d.bmp", "e.tif", "f.TIFF",
                           "g.webp", "h.ppm", "i.pgm", "j.pbm", "/x/y.z/photo.JpEg"}) {
    EXPECT_TRUE(has_image_extension(name)) << name;
  }
  for (const char* name :
       {"a.txt", "jpg", "a.jpg.gz", "a.gif", "a.", "", "/x.jpg/readme", "a.jpgx"}) {
    EXPECT_FALSE(has_image_extension(name)) << name;
  }
}

}  // namespace
}  // namespace tagclip
