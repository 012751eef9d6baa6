// Options on how images are read and sized, shared by the commands that tag (tag, eval).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "tagclip/io/image_io.h"
#include "tagclip/io/tag_run.h"
#include "tagclip/pipeline/preprocess.h"

namespace tagclip::cli {

struct ImageSetup {
  bool apply_exif = false;
  std::optional<int64_t> max_pixels = static_cast<int64_t>(kDefaultMaxImagePixels);
  std::optional<int64_t> max_side = kDefaultMaxSide;
};

// Registers --apply-exif, --max-pixels and --max-side on `command`, in `group`.
void add_image_options(CLI::App& command, ImageSetup& setup, const std::string& group);

// Copies the options into a run's decode options and size bound.
void apply_image_options(const ImageSetup& setup, TagRunOptions& run);

}  // namespace tagclip::cli
