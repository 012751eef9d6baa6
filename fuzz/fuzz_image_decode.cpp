// Image decoding: the header reader that refuses decompression bombs, then OpenCV's
// decoders with tagclip's limits; and the CRF's cv2.imread-like read of the same bytes
// (colour, EXIF orientation applied), a second way into the same decoders.
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "fuzz_input.h"
#include "tagclip/io/image_io.h"
#include "tagclip/segment/cv2_imread.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tagclip::read_image_header_size(std::vector<std::uint8_t>(data, data + size));
  const std::string path = tagclip::fuzz::write_input(data, size, ".img");
  tagclip::ImageDecodeOptions options;
  options.max_pixels = 4096 * 4096;  // keeps one input's memory small
  bool decoded = false;
  try {
    tagclip::decode_image(path, options);
    decoded = true;
  } catch (const std::exception&) {
  }
  // Only what decode_image accepted (so within its pixel limit), as in `segment`, where
  // decode_image always reads the file before the CRF's read.
  try {
    if (decoded) tagclip::cv2_imread(path, cv::IMREAD_COLOR);
  } catch (const std::exception&) {
  }
  return 0;
}
