// cv2.imread as the authors' code calls it (the CRF's image, label PNGs), for the formats
// tagclip reads: core/image_signature.h says why no other bytes reach OpenCV.
#pragma once

#include <opencv2/core.hpp>
#include <string>

namespace tagclip {

// cv::imread(path, flags) (same decoders, same EXIF handling), except that a missing,
// unreadable or empty file, or one whose signature is not a listed format, is an ImageError
// naming `path`. Returns an empty Mat where OpenCV cannot decode the data, as imread does.
cv::Mat cv2_imread(const std::string& path, int flags);

}  // namespace tagclip
