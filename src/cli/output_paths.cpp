#include "output_paths.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tagclip/errors.h"

namespace tagclip::cli {

void prepare_output_path(const std::string& path, const std::string& flag) {
  namespace fs = std::filesystem;
  if (path.empty() || path == "-") return;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw UsageError(flag + " " + path + ": is a folder; give a file name");
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  fs::create_directories(folder, ec);
  if (ec)
    throw UsageError(flag + " " + path + ": cannot create its folder " + folder.string() + ": " +
                     ec.message());
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw UsageError(flag + " " + path + ": cannot write in " + folder.string() + ": " +
                     std::strerror(errno));
}

}  // namespace tagclip::cli
