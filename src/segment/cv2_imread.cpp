#include "tagclip/segment/cv2_imread.h"

#include <cstdint>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "tagclip/core/image_signature.h"
#include "tagclip/errors.h"

namespace tagclip {

cv::Mat cv2_imread(const std::string& path, int flags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path, "cannot open the file");
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError(path, "read failed");
  if (bytes.empty()) throw ImageError(path, "file is empty (0 bytes)");
  require_listed_image_signature(bytes, path);
  try {
    return cv::imdecode(bytes, flags);
  } catch (const cv::Exception& e) {
    throw ImageError(path, "cannot be decoded: " + e.msg);
  }
}

}  // namespace tagclip
