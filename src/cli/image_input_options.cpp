#include "image_input_options.h"

#include <iostream>

#include "tagclip/errors.h"

namespace tagclip::cli {

void add_image_input_options(CLI::App& command, ImageInputOptions& options) {
  command.add_option("inputs", options.inputs,
                     "Image files, folders (recursed, sorted, by image extension), @FILE (one "
                     "path per line) or - (paths on standard input)");
  command
      .add_option("--split-file", options.split_file,
                  "The reference's split format ('id [labels...]' per line); images are "
                  "IMAGE_ROOT/id + --ext")
      ->group("Input");
  command.add_option("--image-root", options.image_root, "Folder of the split file's images")
      ->group("Input");
  command.add_option("--ext", options.extension, "Image extension for --split-file ids")
      ->capture_default_str()
      ->group("Input");
}

ImageInputs gather_image_inputs(const ImageInputOptions& options) {
  if (!options.split_file.empty()) {
    if (!options.inputs.empty()) throw UsageError("give either INPUT... or --split-file, not both");
    return read_split_file(options.split_file, options.image_root, options.extension);
  }
  if (options.inputs.empty())
    throw UsageError("no images given: give image files, folders, @LIST, - or --split-file");
  return collect_image_inputs(options.inputs, std::cin);
}

}  // namespace tagclip::cli
