// Helpers for the libFuzzer targets: most readers take a path, so each input is written to
// one scratch file per process (under $TMPDIR, /dev/shm when it exists) and read back.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace tagclip::fuzz {

// <scratch>/tagclip-fuzz-<pid><suffix>: this process's own scratch path.
inline std::string scratch_path(const std::string& suffix) {
  static const std::string folder = [] {
    if (const char* tmp = std::getenv("TMPDIR")) return std::string(tmp);
    return std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  }();
  return folder + "/tagclip-fuzz-" + std::to_string(::getpid()) + suffix;
}

// Writes the input to scratch_path(suffix) and returns that path.
inline std::string write_input(const uint8_t* data, size_t size, const std::string& suffix) {
  const std::string path = scratch_path(suffix);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// The source tree's committed file `relative` (models/...), for targets that need data.
inline std::string source_file(const std::string& relative) {
  return std::string(TAGCLIP_SOURCE_DIR) + "/" + relative;
}

}  // namespace tagclip::fuzz
