// cv2.imread as the authors' code calls it (the CRF's image, label PNGs), for the formats
// tagclip reads: core/image_signature.h says why no other bytes reach OpenCV.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace tagclip {

// cv::imread(path, flags) (same decoders, same EXIF handling), except that a file
// read_image_file_bytes refuses (missing, a folder, empty, over 2 GiB), or one whose
// signature is not a listed format, is an ImageError naming `path`. Returns an empty Mat
// where OpenCV cannot decode the data, as imread does.
cv::Mat cv2_imread(const std::string& path, int flags);

// The same for a file's bytes already read (`path` names it in errors): the signature check,
// then cv::imdecode(bytes, flags). decode_image (io/image_io.h) decodes through it too, so
// every decode in tagclip passes the one check.
cv::Mat cv2_imdecode(const std::vector<std::uint8_t>& bytes, int flags, const std::string& path);

}  // namespace tagclip
