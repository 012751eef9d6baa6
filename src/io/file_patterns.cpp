#include "tagclip/io/file_patterns.h"

#include <glob.h>

#include "tagclip/errors.h"

namespace tagclip {

std::vector<std::string> expand_file_patterns(const std::vector<std::string>& arguments) {
  std::vector<std::string> files;
  for (const std::string& argument : arguments) {
    if (argument.find_first_of("*?[") == std::string::npos) {
      files.push_back(argument);
      continue;
    }
    glob_t matches{};
    const int status = ::glob(argument.c_str(), GLOB_ERR, nullptr, &matches);
    if (status == 0)
      for (size_t k = 0; k < matches.gl_pathc; ++k) files.emplace_back(matches.gl_pathv[k]);
    ::globfree(&matches);
    if (status == GLOB_NOMATCH) throw UsageError(argument + ": no file matches this pattern");
    if (status != 0) throw UsageError(argument + ": cannot list the files of this pattern");
  }
  return files;
}

}  // namespace tagclip
