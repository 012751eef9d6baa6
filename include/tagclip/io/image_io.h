// Image decoding: turns a file into the 8-bit RGB pixels that the reference feeds to
// Pillow's resize, and rejects anything that cannot be decoded with a tagclip::ImageError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tagclip {

// Pillow raises DecompressionBombError above twice its MAX_IMAGE_PIXELS (89478485), so an
// image the reference can open is never rejected by this default.
inline constexpr std::size_t kDefaultMaxImagePixels = 178956970;

struct ImageDecodeOptions {
  // PIL's Image.open ignores the EXIF Orientation tag, and so does the reference; turning
  // this on rotates/flips the pixels the way a photo viewer shows them.
  bool apply_exif_orientation = false;
  // Images whose header announces more pixels (width * height) are rejected before any
  // pixel buffer is allocated. nullopt turns this check off; OpenCV's own limit
  // (OPENCV_IO_MAX_IMAGE_PIXELS, 2^30 by default) still applies.
  std::optional<std::size_t> max_pixels = kDefaultMaxImagePixels;
};

// Width and height as written in an image file's header.
struct ImageHeaderSize {
  int width = 0;
  int height = 0;
};

// Reads the dimensions from the header of PNG, JPEG, BMP, TIFF, WebP or PNM (P1-P6) data
// without decoding any pixels. Returns nullopt for other formats or an unreadable header.
std::optional<ImageHeaderSize> read_image_header_size(const std::vector<std::uint8_t>& bytes);

// Decodes the image file at `path` to an 8-bit, 3-channel image in RGB order (CV_8UC3),
// the layout of np.array(PIL.Image.open(path).convert("RGB")).
//   - gray becomes three equal channels; palette images are expanded through the palette;
//     an alpha channel is dropped (not composited);
//   - 16-bit samples keep their high byte (v >> 8, i.e. rounded down), which is what Pillow
//     does when it opens a 16-bit RGB PNG;
//   - floating-point samples are taken as 0..1: round(v * 255), half away from zero,
//     saturated to 0..255 (NaN -> 0).
// Throws ImageError (naming `path`) for a missing file, a directory, an empty, truncated
// or undecodable file, or an image larger than options.max_pixels.
cv::Mat decode_image(const std::string& path, const ImageDecodeOptions& options = {});

// True when the file name ends in an image extension the decoder handles (jpg jpeg png
// bmp tif tiff webp ppm pgm pbm, any letter case); used when scanning a folder.
bool has_image_extension(const std::string& path);

}  // namespace tagclip
