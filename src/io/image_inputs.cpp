#include "tagclip/io/image_inputs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include "tagclip/core/path_problem.h"
#include "tagclip/core/text_util.h"
#include "tagclip/errors.h"
#include "tagclip/io/image_io.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

// Entries a folder scan passes over, by reason, for one warning.
struct SkippedEntries {
  size_t dangling_links = 0, link_loops = 0, folder_cycles = 0, special_files = 0;

  std::string describe() const {
    std::string text;
    size_t total = 0;
    auto add = [&](size_t count, const std::string& what) {
      if (!count) return;
      text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + what;
      total += count;
    };
    add(dangling_links, "dangling symbolic link" + std::string(dangling_links > 1 ? "s" : ""));
    add(link_loops, "symbolic link loop" + std::string(link_loops > 1 ? "s" : ""));
    add(folder_cycles,
        "link" + std::string(folder_cycles > 1 ? "s" : "") + " back to a folder already scanned");
    add(special_files, "FIFO, socket or device file" + std::string(special_files > 1 ? "s" : ""));
    return total ? "skipped " + std::to_string(total) + " entries: " + text : "";
  }
};

void add_folder(const std::string& folder, ImageInputs& out) {
  std::vector<std::string> found;
  SkippedEntries skipped;
  // Folders by (device, inode): a link back up the tree would otherwise be followed until
  // the path is too long, listing every image many times.
  std::set<std::pair<dev_t, ino_t>> folders_seen;
  struct stat top {};
  if (::stat(folder.c_str(), &top) == 0) folders_seen.insert({top.st_dev, top.st_ino});
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder,
                                                  fs::directory_options::follow_directory_symlink |
                                                      fs::directory_options::skip_permission_denied,
                                                  ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string path = it->path().string();
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      if (errno == ELOOP)
        ++skipped.link_loops;
      else
        ++skipped.dangling_links;  // lstat found the entry, so its link leads nowhere
      continue;
    }
    if (S_ISDIR(info.st_mode)) {
      if (!folders_seen.insert({info.st_dev, info.st_ino}).second) {
        ++skipped.folder_cycles;
        it.disable_recursion_pending();
      }
    } else if (S_ISREG(info.st_mode)) {
      if (has_image_extension(path)) found.push_back(path);
    } else {
      ++skipped.special_files;
    }
  }
  if (ec) out.warnings.push_back(folder + ": could not list everything: " + ec.message());
  if (const std::string note = skipped.describe(); !note.empty())
    out.warnings.push_back(folder + ": " + note);
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
    out.images.push_back({path, image_id_of(path), path_problem(path, "file or folder")});
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
        {path, id, fs::exists(path, ec) ? "" : path_problem(path) + " (from " + split_file + ")"});
  }
  if (out.images.empty()) out.warnings.push_back(split_file + ": split file lists no images");
  return out;
}

}  // namespace tagclip
