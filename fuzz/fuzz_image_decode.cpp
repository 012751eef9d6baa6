// Image decoding: the header reader that refuses decompression bombs, then OpenCV's
// decoders with tagclip's limits.
#include <vector>

#include "fuzz_input.h"
#include "tagclip/io/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tagclip::read_image_header_size(std::vector<std::uint8_t>(data, data + size));
  const std::string path = tagclip::fuzz::write_input(data, size, ".img");
  tagclip::ImageDecodeOptions options;
  options.max_pixels = 4096 * 4096;  // keeps one input's memory small
  try {
    tagclip::decode_image(path, options);
  } catch (const std::exception&) {
  }
  return 0;
}
