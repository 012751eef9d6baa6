// Reading an image file's bytes, and which image formats tagclip hands to a decoder, told by
// the file's first bytes.
//
// OpenCV's imdecode and imread choose a decoder by signature, and Debian's OpenCV also links
// GDAL, GDCM (DICOM), OpenEXR and OpenJPEG. Those decoders read nothing the reference's
// Pillow does for these datasets, and one of them (GDCM, on 134 fuzzed bytes with "DICM" at
// byte 128) aborts the whole process on bad data. So every file tagclip decodes passes this
// check first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tagclip {

// The bytes of a file to be decoded as an image. ImageError naming `path` for a path that
// cannot be followed (path_problem's words), a folder, a read error, an empty file, or one
// over 2 GiB (OpenCV's decoders take the size as an int).
std::vector<std::uint8_t> read_image_file_bytes(const std::string& path);

// True when `bytes` holds the NUL-terminated `magic` from offset `at` on (false when too short).
bool bytes_start_with(const std::vector<std::uint8_t>& bytes, std::size_t at, const char* magic);

// True for JPEG's signature (FF D8 FF).
bool has_jpeg_signature(const std::vector<std::uint8_t>& bytes);

// True for the signatures of JPEG, PNG, BMP, TIFF (BigTIFF too), WebP and PNM (P1-P6).
bool has_listed_image_signature(const std::vector<std::uint8_t>& bytes);

// Throws ImageError(path, "not a recognised image format (tagclip reads ...)") unless
// has_listed_image_signature(bytes).
void require_listed_image_signature(const std::vector<std::uint8_t>& bytes,
                                    const std::string& path);

}  // namespace tagclip
