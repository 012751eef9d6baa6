// Pixel pseudo-masks as files: one 8-bit index per pixel (0 background, k + 1 for class k,
// 255 ignore), stored as a palette PNG with the VOC colours, as VOC's own SegmentationClass
// files are: viewers show colours, PIL's np.asarray(Image.open(f)) gives the indices.
// (cv2.imread expands a palette to colours; read_label_mask_png does not.)
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tagclip {

struct LabelMask {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> labels;  // [height * width], row-major
};

// The PASCAL VOC colour map (bit-interleaved index -> RGB), 256 entries; 255 is (224, 224, 192).
std::array<std::array<uint8_t, 3>, 256> voc_palette();

// PNG bytes of an 8-bit palette image (colour type 3) with voc_palette().
std::vector<uint8_t> encode_palette_png(const LabelMask& mask);

// Writes encode_palette_png atomically: a temporary file beside `path`, then rename, so a
// killed run never leaves half a PNG. Throws Error naming the file on failure.
void write_label_mask_png(const std::string& path, const LabelMask& mask);

// Reads a label PNG as its indices: an 8-bit palette PNG (VOC's ground truth, our masks)
// gives its palette indices, an 8-bit grayscale PNG (COCO's converted ground truth) its
// values. Throws ImageError naming the file and the problem for anything else.
LabelMask read_label_mask_png(const std::string& path);

}  // namespace tagclip
