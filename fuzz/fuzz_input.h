// Helpers for the libFuzzer targets: most readers take a path, so each input is written to
// one scratch file per process (under $TMPDIR, /dev/shm when it exists) and read back.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace tagclip::fuzz {

// The scratch paths this process has handed out: removed when it exits (libFuzzer calls
// exit() at the end of -runs and -max_total_time), so that runs leave nothing in /dev/shm.
// A crashing process leaves its input behind; libFuzzer keeps a copy as the finding anyway.
inline std::set<std::string>& scratch_paths() {
  static std::set<std::string> paths;
  return paths;
}

inline void remove_scratch_paths() {
  for (const std::string& path : scratch_paths()) {
    std::error_code ignored;  // nothing to report to at exit
    std::filesystem::remove_all(path, ignored);
  }
}

// <scratch>/tagclip-fuzz-<pid><suffix>: this process's own scratch path.
inline std::string scratch_path(const std::string& suffix) {
  static const std::string folder = [] {
    // The set first: exit runs this handler before destroying what was built before it.
    scratch_paths();
    std::atexit(remove_scratch_paths);
    if (const char* tmp = std::getenv("TMPDIR")) return std::string(tmp);
    return std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  }();
  const std::string path = folder + "/tagclip-fuzz-" + std::to_string(::getpid()) + suffix;
  scratch_paths().insert(path);
  return path;
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
