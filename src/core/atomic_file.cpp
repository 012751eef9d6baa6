#include "tagclip/core/atomic_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tagclip/errors.h"

namespace tagclip {

void write_file_atomically(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  // The pid keeps two processes writing the same output from sharing a temporary file.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(path + ": cannot write the file (is the folder writable and the disk not full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(path + ": cannot move the finished file into place: " + ec.message());
  }
}

}  // namespace tagclip
