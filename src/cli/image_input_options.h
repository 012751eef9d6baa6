// The image list of `tag` and `merge`: files, folders, @LIST, - or a split file. merge must
// see exactly the list tag saw, so both read it through here.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tagclip/io/image_inputs.h"

namespace tagclip::cli {

struct ImageInputOptions {
  std::vector<std::string> inputs;
  std::string split_file, image_root, extension = ".jpg";
};

void add_image_input_options(CLI::App& command, ImageInputOptions& options);

// The images in input order. Throws UsageError when none are given or both kinds are.
ImageInputs gather_image_inputs(const ImageInputOptions& options);

}  // namespace tagclip::cli
