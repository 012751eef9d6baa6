#include "tagclip/errors.h"

namespace tagclip {

std::string image_problem(const std::exception& error) {
  if (const auto* image_error = dynamic_cast<const ImageError*>(&error))
    return image_error->problem();
  // LibTorch's errors append a backtrace after the first line.
  const std::string message = error.what();
  return message.substr(0, message.find('\n'));
}

}  // namespace tagclip
