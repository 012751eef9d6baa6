#include "tagclip/core/image_signature.h"

#include <climits>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "tagclip/core/path_problem.h"
#include "tagclip/errors.h"

namespace tagclip {

bool bytes_start_with(const std::vector<std::uint8_t>& bytes, std::size_t at, const char* magic) {
  for (std::size_t i = 0; magic[i] != '\0'; ++i) {
    if (at + i >= bytes.size() || bytes[at + i] != static_cast<std::uint8_t>(magic[i])) {
      return false;
    }
  }
  return true;
}

bool has_jpeg_signature(const std::vector<std::uint8_t>& b) {
  return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

std::vector<std::uint8_t> read_image_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw ImageError(path, path_problem(path));
  if (fs::is_directory(status)) throw ImageError(path, "is a directory, not an image file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(path, "cannot be opened for reading");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) throw ImageError(path, "read failed");
  if (bytes.empty()) throw ImageError(path, "file is empty (0 bytes)");
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) {
    throw ImageError(path, "file is larger than 2 GiB, more than the decoder accepts");
  }
  return bytes;
}

bool has_listed_image_signature(const std::vector<std::uint8_t>& b) {
  const bool jpeg = has_jpeg_signature(b);
  // "II*\0" / "MM\0*"; '+' in place of '*' is BigTIFF.
  const bool tiff =
      (b.size() >= 4 && b[0] == 'I' && b[1] == 'I' && (b[2] == '*' || b[2] == '+') && b[3] == 0) ||
      (b.size() >= 4 && b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == '*' || b[3] == '+'));
  const bool pnm = b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6';
  return jpeg || tiff || pnm || bytes_start_with(b, 0, "\x89PNG\r\n\x1a\n") ||
         bytes_start_with(b, 0, "BM") ||
         (bytes_start_with(b, 0, "RIFF") && bytes_start_with(b, 8, "WEBP"));
}

void require_listed_image_signature(const std::vector<std::uint8_t>& bytes,
                                    const std::string& path) {
  if (!has_listed_image_signature(bytes)) {
    throw ImageError(path,
                     "not a recognised image format (tagclip reads JPEG, PNG, BMP, TIFF, "
                     "WebP and PNM files)");
  }
}

}  // namespace tagclip
