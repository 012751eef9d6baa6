// SHA-256 (FIPS 180-4), used to key the text-embedding cache by file contents and to
// detect damaged cache entries. Small enough to keep here rather than pull in OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace tagclip {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(const std::string& text) { update(text.data(), text.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const std::string& bytes);

// Hash of a file's contents. Throws tagclip::Error naming the file when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace tagclip
