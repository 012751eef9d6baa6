#include "tagclip/segment/label_mask.h"

#include <zlib.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>

#include "tagclip/core/atomic_file.h"
#include "tagclip/errors.h"
#include "tagclip/segment/cv2_imread.h"

namespace tagclip {
namespace {

constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

uint32_t get_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

void put_chunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uint32_t crc = static_cast<uint32_t>(
      crc32(0L, out.data() + type_at, static_cast<uInt>(out.size() - type_at)));
  put_u32(out, crc);
}

// PNG filter 4's predictor (PNG spec 9.4).
uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
  return static_cast<uint8_t>(pb <= pc ? b : c);
}

struct PngHeader {
  uint32_t width = 0, height = 0;
  int bit_depth = 0, colour_type = 0, interlace = 0;
};

// Indices of a non-interlaced palette PNG (1, 2, 4 or 8 bits). False with `problem` empty
// for another kind of PNG (OpenCV reads it then); false with `problem` set for a bad file.
bool decode_palette_png(const std::string& bytes, LabelMask& mask, std::string& problem) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 8 || std::memcmp(data, kPngSignature, 8) != 0) {
    problem = "not a PNG file";
    return false;
  }
  PngHeader header;
  std::vector<uint8_t> compressed;
  for (size_t at = 8; at + 12 <= bytes.size();) {
    const uint32_t length = get_u32(data + at);
    if (at + 12 + length > bytes.size()) {
      problem = "truncated PNG chunk";
      return false;
    }
    const std::string type(reinterpret_cast<const char*>(data + at + 4), 4);
    const uint8_t* body = data + at + 8;
    if (type == "IHDR" && length >= 13) {
      header = {get_u32(body), get_u32(body + 4), body[8], body[9], body[12]};
    } else if (type == "IDAT") {
      compressed.insert(compressed.end(), body, body + length);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + length;
  }
  if (header.colour_type != 3) return false;  // not a palette image: leave it to OpenCV
  const int bits = header.bit_depth;
  if ((bits != 1 && bits != 2 && bits != 4 && bits != 8) || header.interlace != 0) {
    problem = "palette PNG with " + std::to_string(bits) + "-bit indices" +
              (header.interlace ? ", interlaced" : "") + " (only non-interlaced ones are read)";
    return false;
  }
  // Rows are filtered as bytes; indices below 8 bits are packed, most significant first.
  const size_t rows = header.height;
  const size_t stride = (static_cast<size_t>(header.width) * bits + 7) / 8;
  std::vector<uint8_t> raw((stride + 1) * rows);
  uLongf raw_size = static_cast<uLongf>(raw.size());
  if (uncompress(raw.data(), &raw_size, compressed.data(), static_cast<uLong>(compressed.size())) !=
          Z_OK ||
      raw_size != raw.size()) {
    problem = "corrupt or truncated PNG image data";
    return false;
  }
  std::vector<uint8_t> packed(stride * rows, 0);
  for (size_t y = 0; y < rows; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = raw.data() + y * (stride + 1) + 1;
    uint8_t* out = packed.data() + y * stride;
    const uint8_t* up = y > 0 ? out - stride : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x > 0 ? out[x - 1] : 0, b = up ? up[x] : 0, c = (up && x > 0) ? up[x - 1] : 0;
      int predicted = 0;
      switch (filter) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = a;
          break;
        case 2:
          predicted = b;
          break;
        case 3:
          predicted = (a + b) / 2;
          break;
        case 4:
          predicted = paeth(a, b, c);
          break;
        default:
          problem = "unknown PNG filter " + std::to_string(filter);
          return false;
      }
      out[x] = static_cast<uint8_t>(in[x] + predicted);
    }
  }
  mask.height = static_cast<int>(rows);
  mask.width = static_cast<int>(header.width);
  mask.labels.assign(static_cast<size_t>(header.width) * rows, 0);
  const int per_byte = 8 / bits, low_mask = (1 << bits) - 1;
  for (size_t y = 0; y < rows; ++y)
    for (size_t x = 0; x < header.width; ++x) {
      const uint8_t byte = packed[y * stride + x / per_byte];
      const int shift = 8 - bits * static_cast<int>(x % per_byte + 1);
      mask.labels[y * header.width + x] = static_cast<uint8_t>((byte >> shift) & low_mask);
    }
  return true;
}

}  // namespace

std::array<std::array<uint8_t, 3>, 256> voc_palette() {
  // The devkit's labelcolormap: bit j of the index goes to bit 7 - i of the channel j, for
  // each group i of three bits.
  std::array<std::array<uint8_t, 3>, 256> palette{};
  for (int index = 0; index < 256; ++index) {
    int c = index;
    uint8_t r = 0, g = 0, b = 0;
    for (int bit = 7; bit >= 0; --bit) {
      r |= static_cast<uint8_t>(((c >> 0) & 1) << bit);
      g |= static_cast<uint8_t>(((c >> 1) & 1) << bit);
      b |= static_cast<uint8_t>(((c >> 2) & 1) << bit);
      c >>= 3;
    }
    palette[index] = {r, g, b};
  }
  return palette;
}

std::vector<uint8_t> encode_palette_png(const LabelMask& mask) {
  if (mask.height <= 0 || mask.width <= 0 ||
      mask.labels.size() != static_cast<size_t>(mask.height) * mask.width)
    throw ShapeError("label mask must hold height * width labels, got " +
                     std::to_string(mask.labels.size()) + " for " + std::to_string(mask.height) +
                     "x" + std::to_string(mask.width));
  std::vector<uint8_t> png(kPngSignature, kPngSignature + 8);
  std::vector<uint8_t> ihdr;
  put_u32(ihdr, static_cast<uint32_t>(mask.width));
  put_u32(ihdr, static_cast<uint32_t>(mask.height));
  ihdr.insert(ihdr.end(), {8, 3, 0, 0, 0});  // 8-bit indices, palette, deflate, no interlace
  put_chunk(png, "IHDR", ihdr);
  std::vector<uint8_t> plte;
  for (const auto& rgb : voc_palette()) plte.insert(plte.end(), rgb.begin(), rgb.end());
  put_chunk(png, "PLTE", plte);

  // Each row: filter type 0 (none), then the indices; masks are flat regions that deflate
  // compresses well without prediction.
  std::vector<uint8_t> raw;
  raw.reserve((static_cast<size_t>(mask.width) + 1) * mask.height);
  for (int y = 0; y < mask.height; ++y) {
    raw.push_back(0);
    const auto row = mask.labels.begin() + static_cast<std::ptrdiff_t>(y) * mask.width;
    raw.insert(raw.end(), row, row + mask.width);
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> idat(size);
  if (compress2(idat.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK)
    throw Error("cannot compress a label mask");
  idat.resize(size);
  put_chunk(png, "IDAT", idat);
  put_chunk(png, "IEND", {});
  return png;
}

void write_label_mask_png(const std::string& path, const LabelMask& mask) {
  const std::vector<uint8_t> png = encode_palette_png(mask);
  write_file_atomically(path,
                        std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

LabelMask read_label_mask_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path, "cannot open the file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LabelMask mask;
  std::string problem;
  if (decode_palette_png(bytes, mask, problem)) return mask;
  if (!problem.empty()) throw ImageError(path, problem);
  // Not a palette PNG: decode the bytes already read, as cv2.imread(IMREAD_UNCHANGED) would.
  const cv::Mat image = cv2_imdecode(std::vector<std::uint8_t>(bytes.begin(), bytes.end()),
                                     cv::IMREAD_UNCHANGED, path);
  if (image.empty()) throw ImageError(path, "cannot decode the PNG");
  if (image.type() != CV_8UC1)
    throw ImageError(path, "a label PNG must be 8-bit grayscale or 8-bit palette, this one has " +
                               std::to_string(image.channels()) + " channel(s) of depth " +
                               std::to_string(image.elemSize1() * 8) + " bits");
  mask.height = image.rows;
  mask.width = image.cols;
  mask.labels.assign(image.datastart, image.dataend);
  return mask;
}

}  // namespace tagclip
