#include "tagclip/core/path_problem.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace tagclip {

std::string path_problem(const std::string& path, const std::string& missing) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) return "";
  const int error = errno;
  switch (error) {
    case ELOOP:
      return "a symbolic link loop (too many levels of links)";
    case ENOENT: {
      struct stat link {};
      if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
        std::vector<char> target(4096);
        const ssize_t length = ::readlink(path.c_str(), target.data(), target.size());
        if (length > 0)
          return "a dangling symbolic link (to '" + std::string(target.data(), length) + "')";
        return "a dangling symbolic link";
      }
      return "no such " + missing;
    }
    case EACCES:
      return "permission denied";
    case ENOTDIR:
      return "a part of its path is not a folder";
    default:
      return std::strerror(error);
  }
}

}  // namespace tagclip
