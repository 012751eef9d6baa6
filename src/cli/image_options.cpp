#include "image_options.h"

#include <algorithm>

#include "limit_option.h"

namespace tagclip::cli {

void add_image_options(CLI::App& command, ImageSetup& setup, const std::string& group) {
  command
      .add_flag("--apply-exif", setup.apply_exif,
                "Rotate images by their EXIF orientation (the reference does not)")
      ->group(group);
  add_limit_option(command, "--max-pixels", setup.max_pixels,
                   "Refuse images whose header announces more pixels than this (decompression "
                   "bombs); they become error records")
      ->group(group);
  add_limit_option(command, "--max-side", setup.max_side,
                   "Scale an image whose longer side exceeds this many pixels down to it before "
                   "tagging (one bicubic resize, aspect kept). Bounds time and memory: the ViT's "
                   "cost grows with the square of the pixel count. VOC and COCO images (at most "
                   "640 px) are never scaled at the default")
      ->group(group);
}

void apply_image_options(const ImageSetup& setup, TagRunOptions& run) {
  run.decode.apply_exif_orientation = setup.apply_exif;
  run.decode.max_pixels = setup.max_pixels;
  // No decodable image has a side past 2^20 px (OpenCV refuses 2^30 pixels), so a larger
  // bound is the same as none; the clamp only keeps the value inside an int.
  run.max_side =
      setup.max_side
          ? std::optional<int>(static_cast<int>(std::min<int64_t>(*setup.max_side, 1 << 20)))
          : std::nullopt;
}

}  // namespace tagclip::cli
