#include "tagclip/io/image_inputs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tagclip/core/text_util.h"
#include "tagclip/errors.h"
#include "tagclip/io/image_io.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

void add_folder(const std::string& folder, ImageInputs& out) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder,
                                                  fs::directory_options::follow_directory_symlink |
                                                      fs::directory_options::skip_permission_denied,
                                                  ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code file_ec;
    if (it->is_regular_file(file_ec) && has_image_extension(it->path().string()))
      found.push_back(it->path().string());
  }
  if (ec) out.warnings.push_back(folder + ": could not list everything: " + ec.message());
  if (found.empty()) {
    out.warnings.push_back(folder + ": folder holds no images (by extension)");
    return;
  }
  std::sort(found.begin(), found.end());
  for (const std::string& path : found) out.images.push_back({path, image_id_of(path), ""});
}

void add_path(const std::string& path, ImageInputs& out) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    add_folder(path, out);
  } else if (fs::exists(path, ec)) {
    out.images.push_back({path, image_id_of(path), ""});
  } else {
    out.images.push_back({path, image_id_of(path), "no such file or folder"});
  }
}

void add_path_list(std::istream& in, ImageInputs& out) {
  std::string line;
  while (std::getline(in, line)) {
    line = trim_whitespace(line);
    if (line.empty() || line[0] == '#') continue;
    add_path(line, out);
  }
}

}  // namespace

std::string image_id_of(const std::string& path) { return fs::path(path).stem().string(); }

ImageInputs collect_image_inputs(const std::vector<std::string>& arguments,
                                 std::istream& stdin_stream) {
  ImageInputs out;
  for (const std::string& argument : arguments) {
    if (argument == "-") {
      add_path_list(stdin_stream, out);
    } else if (argument.size() > 1 && argument[0] == '@') {
      const std::string list_file = argument.substr(1);
      std::ifstream in(list_file);
      if (!in) throw UsageError(list_file + ": cannot read the list of image paths");
      add_path_list(in, out);
    } else {
      add_path(argument, out);
    }
  }
  return out;
}

ImageInputs read_split_file(const std::string& split_file, const std::string& image_root,
                            const std::string& extension) {
  std::ifstream in(split_file);
  if (!in) throw UsageError(split_file + ": cannot read the split file");
  ImageInputs out;
  std::string line;
  while (std::getline(in, line)) {
    line = trim_whitespace(line);
    if (line.empty()) continue;
    const std::string id = line.substr(0, line.find_first_of(" \t"));
    const std::string path = (fs::path(image_root) / (id + extension)).string();
    std::error_code ec;
    out.images.push_back(
        {path, id, fs::exists(path, ec) ? "" : "no such file (from " + split_file + ")"});
  }
  if (out.images.empty()) out.warnings.push_back(split_file + ": split file lists no images");
  return out;
}

}  // namespace tagclip
