#include "tagclip/segment/cv2_imread.h"

#include <opencv2/imgcodecs.hpp>

#include "tagclip/core/image_signature.h"
#include "tagclip/errors.h"

namespace tagclip {

cv::Mat cv2_imread(const std::string& path, int flags) {
  return cv2_imdecode(read_image_file_bytes(path), flags, path);
}

cv::Mat cv2_imdecode(const std::vector<std::uint8_t>& bytes, int flags, const std::string& path) {
  require_listed_image_signature(bytes, path);
  try {
    return cv::imdecode(bytes, flags);
  } catch (const cv::Exception& e) {
    throw ImageError(path, "cannot be decoded: " + e.msg);
  }
}

}  // namespace tagclip
