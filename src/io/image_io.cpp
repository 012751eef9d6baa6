#include "tagclip/io/image_io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "tagclip/core/image_signature.h"
#include "tagclip/errors.h"
#include "tagclip/segment/cv2_imread.h"

namespace tagclip {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::uint32_t read_be16(const Bytes& b, std::size_t at) { return (b[at] << 8) | b[at + 1]; }
std::uint32_t read_le16(const Bytes& b, std::size_t at) { return b[at] | (b[at + 1] << 8); }
std::uint32_t read_be32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}
std::uint32_t read_le32(const Bytes& b, std::size_t at) {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (std::uint32_t{b[at + 3]} << 24);
}

std::optional<ImageHeaderSize> make_size(std::uint64_t width, std::uint64_t height) {
  if (width == 0 || height == 0 || width > INT32_MAX || height > INT32_MAX) return std::nullopt;
  return ImageHeaderSize{static_cast<int>(width), static_cast<int>(height)};
}

// Walks the JPEG marker segments up to the first start-of-scan. Sets `frame` from the first
// start-of-frame marker and returns the offset just past the SOS header (0 if none).
std::size_t walk_jpeg_header(const Bytes& b, std::optional<ImageHeaderSize>* frame) {
  std::size_t at = 2;
  while (at + 4 <= b.size()) {
    if (b[at] != 0xFF) return 0;
    const std::uint8_t marker = b[at + 1];
    if (marker == 0xFF) {  // fill byte before a marker
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // markers without length
      at += 2;
      continue;
    }
    const std::size_t length = read_be16(b, at + 2);
    if (length < 2) return 0;
    // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
    const bool is_sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (is_sof && frame && !*frame && at + 9 <= b.size()) {
      *frame = make_size(read_be16(b, at + 7), read_be16(b, at + 5));
    }
    if (marker == 0xDA) return std::min(at + 2 + length, b.size());
    at += 2 + length;
  }
  return 0;
}

// The end-of-image marker cannot occur inside entropy-coded data (0xFF there is always
// followed by 0x00 or a restart marker), so a complete JPEG has FF D9 after its first scan.
// libjpeg only warns about a premature end and returns grey-filled pixels, whereas PIL
// raises "image file is truncated"; this check restores the error. A header we cannot walk
// is left for libjpeg to judge.
bool jpeg_is_truncated(const Bytes& b) {
  const std::size_t scan = walk_jpeg_header(b, nullptr);
  if (scan == 0) return false;
  const std::uint8_t eoi[] = {0xFF, 0xD9};
  return std::search(b.begin() + static_cast<std::ptrdiff_t>(scan), b.end(), std::begin(eoi),
                     std::end(eoi)) == b.end();
}

std::optional<ImageHeaderSize> tiff_size(const Bytes& b) {
  const bool little = bytes_start_with(b, 0, "II*");
  auto u16 = [&](std::size_t at) { return little ? read_le16(b, at) : read_be16(b, at); };
  auto u32 = [&](std::size_t at) { return little ? read_le32(b, at) : read_be32(b, at); };
  const std::size_t ifd = u32(4);  // OpenCV decodes the first directory only
  if (ifd + 2 > b.size()) return std::nullopt;
  const std::size_t entries = u16(ifd);
  std::uint64_t width = 0, height = 0;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t entry = ifd + 2 + 12 * i;
    if (entry + 12 > b.size()) break;
    const std::uint32_t tag = u16(entry), type = u16(entry + 2);
    const std::uint32_t value = type == 3 ? u16(entry + 8) : type == 4 ? u32(entry + 8) : 0;
    if (tag == 256) width = value;
    if (tag == 257) height = value;
  }
  return make_size(width, height);
}

std::optional<ImageHeaderSize> webp_size(const Bytes& b) {
  if (b.size() < 30) return std::nullopt;
  if (bytes_start_with(b, 12, "VP8 ") && b[23] == 0x9D && b[24] == 0x01 && b[25] == 0x2A) {
    return make_size(read_le16(b, 26) & 0x3FFF, read_le16(b, 28) & 0x3FFF);
  }
  if (bytes_start_with(b, 12, "VP8L") && b[20] == 0x2F) {
    const std::uint32_t bits = read_le32(b, 21);
    return make_size((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  }
  if (bytes_start_with(b, 12, "VP8X")) {
    const std::uint32_t w = b[24] | (b[25] << 8) | (b[26] << 16);
    const std::uint32_t h = b[27] | (b[28] << 8) | (b[29] << 16);
    return make_size(std::uint64_t{w} + 1, std::uint64_t{h} + 1);
  }
  return std::nullopt;
}

// P1..P6: magic, then width and height as decimal tokens; '#' starts a comment.
std::optional<ImageHeaderSize> pnm_size(const Bytes& b) {
  std::size_t at = 2;
  std::uint64_t values[2] = {0, 0};
  for (std::uint64_t& value : values) {
    while (at < b.size() && (std::isspace(b[at]) || b[at] == '#')) {
      if (b[at] == '#') {
        while (at < b.size() && b[at] != '\n') ++at;
      } else {
        ++at;
      }
    }
    std::size_t digits = 0;
    for (; at < b.size() && std::isdigit(b[at]) && digits < 10; ++at, ++digits) {
      value = value * 10 + (b[at] - '0');
    }
    if (digits == 0) return std::nullopt;
  }
  return make_size(values[0], values[1]);
}

// Samples in 0..1 -> round(v * 255) in double precision, half away from zero, saturated
// (NaN -> 0). Spelled out because convertTo rounds in float, half to even.
template <typename Float>
cv::Mat unit_floats_to_8bit(const cv::Mat& decoded) {
  cv::Mat out(decoded.size(), CV_MAKETYPE(CV_8U, decoded.channels()));
  for (int y = 0; y < decoded.rows; ++y) {
    const Float* in = decoded.ptr<Float>(y);
    std::uint8_t* dst = out.ptr<std::uint8_t>(y);
    for (int i = 0; i < decoded.cols * decoded.channels(); ++i) {
      const double scaled = static_cast<double>(in[i]) * 255.0;
      dst[i] = !(scaled > 0.0)   ? 0
               : scaled >= 255.0 ? 255
                                 : static_cast<std::uint8_t>(std::lround(scaled));
    }
  }
  return out;
}

// Any decoded depth/channel layout -> CV_8UC3 in RGB order.
cv::Mat to_rgb8(const cv::Mat& decoded, const std::string& path) {
  cv::Mat eight_bit;
  switch (decoded.depth()) {
    case CV_8U:
      eight_bit = decoded;
      break;
    case CV_16U:  // keep the high byte (v >> 8), as Pillow does for 16-bit RGB PNGs
      eight_bit.create(decoded.size(), CV_MAKETYPE(CV_8U, decoded.channels()));
      for (int y = 0; y < decoded.rows; ++y) {
        const std::uint16_t* in = decoded.ptr<std::uint16_t>(y);
        std::uint8_t* out = eight_bit.ptr<std::uint8_t>(y);
        for (int i = 0; i < decoded.cols * decoded.channels(); ++i) out[i] = in[i] >> 8;
      }
      break;
    case CV_32F:
      eight_bit = unit_floats_to_8bit<float>(decoded);
      break;
    case CV_64F:
      eight_bit = unit_floats_to_8bit<double>(decoded);
      break;
    default:
      throw ImageError(path,
                       "unsupported sample type (depth " + std::to_string(decoded.depth()) + ")");
  }
  cv::Mat rgb;
  switch (eight_bit.channels()) {
    case 1:
      cv::cvtColor(eight_bit, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 2: {  // gray + alpha: keep the gray plane
      cv::Mat gray;
      cv::extractChannel(eight_bit, gray, 0);
      cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
      break;
    }
    case 3:
      cv::cvtColor(eight_bit, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(eight_bit, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      throw ImageError(path, "unsupported channel count " + std::to_string(eight_bit.channels()));
  }
  return rgb;
}

}  // namespace

std::optional<ImageHeaderSize> read_image_header_size(const Bytes& bytes) {
  const Bytes& b = bytes;
  if (bytes_start_with(b, 0, "\x89PNG\r\n\x1a\n") && b.size() >= 24 &&
      bytes_start_with(b, 12, "IHDR")) {
    return make_size(read_be32(b, 16), read_be32(b, 20));
  }
  if (has_jpeg_signature(b)) {
    std::optional<ImageHeaderSize> frame;
    walk_jpeg_header(b, &frame);
    return frame;
  }
  if (bytes_start_with(b, 0, "BM") && b.size() >= 26) {
    if (read_le32(b, 14) == 12) return make_size(read_le16(b, 18), read_le16(b, 20));  // OS/2
    const auto height = static_cast<std::int32_t>(read_le32(b, 22));  // < 0: top-down rows
    return make_size(read_le32(b, 18), height < 0 ? -std::int64_t{height} : height);
  }
  if ((bytes_start_with(b, 0, "II*") || bytes_start_with(b, 0, "MM")) && b.size() >= 8 &&
      b[2] + b[3] == 42) {
    return tiff_size(b);
  }
  if (bytes_start_with(b, 0, "RIFF") && bytes_start_with(b, 8, "WEBP")) return webp_size(b);
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return pnm_size(b);
  return std::nullopt;
}

cv::Mat decode_image(const std::string& path, const ImageDecodeOptions& options) {
  const Bytes bytes = read_image_file_bytes(path);

  const std::optional<ImageHeaderSize> header = read_image_header_size(bytes);
  auto check_pixels = [&](std::uint64_t width, std::uint64_t height) {
    if (options.max_pixels && width * height > *options.max_pixels) {
      throw ImageError(path,
                       "image is " + std::to_string(width) + "x" + std::to_string(height) + " = " +
                           std::to_string(width * height) + " pixels, over the limit of " +
                           std::to_string(*options.max_pixels) + " (possible decompression bomb)");
    }
  };
  // First, so that a file of no listed format is named as such before the size and truncation
  // checks (the header parser's TIFF test is looser than the list's); cv2_imdecode checks again.
  require_listed_image_signature(bytes, path);
  if (header) check_pixels(header->width, header->height);
  if (has_jpeg_signature(bytes) && jpeg_is_truncated(bytes)) {
    throw ImageError(path, "JPEG data is truncated (no end-of-image marker)");
  }

  // IMREAD_UNCHANGED never applies EXIF orientation, whatever else is or-ed in, so the
  // orientation-aware path asks for "any depth, any colour", which also strips alpha.
  const int flags = options.apply_exif_orientation
                        ? cv::IMREAD_ANYDEPTH | cv::IMREAD_ANYCOLOR
                        : cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION;
  const cv::Mat decoded = cv2_imdecode(bytes, flags, path);
  if (decoded.empty()) {
    throw ImageError(path, "cannot be decoded (corrupt or truncated image data)");
  }
  check_pixels(decoded.cols, decoded.rows);  // formats whose header we do not parse
  return to_rgb8(decoded, path);
}

bool has_image_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const char* const kExtensions[] = {".jpg",  ".jpeg", ".png", ".bmp", ".tif",
                                            ".tiff", ".webp", ".ppm", ".pgm", ".pbm"};
  return std::find(std::begin(kExtensions), std::end(kExtensions), ext) != std::end(kExtensions);
}

}  // namespace tagclip
