// Which images a run tags: files, folders, lists of paths, or the reference's split files.
#pragma once

#include <istream>
#include <string>
#include <vector>

namespace tagclip {

struct ImageInput {
  std::string path;     // as given or found (folders: joined with the folder as given)
  std::string id;       // file stem; the key used by --labels-out, --resume and eval
  std::string problem;  // non-empty: this input cannot be tagged (missing path, ...), say why
};

struct ImageInputs {
  std::vector<ImageInput> images;     // in input order, folders expanded sorted
  std::vector<std::string> warnings;  // e.g. a folder that holds no images
};

// Expands command-line inputs in order:
//   file      -> itself (even without an image extension: decoding decides)
//   folder    -> image files below it, recursively, sorted by path, extension case-insensitive
//   @FILE     -> one path per line of FILE (blank lines and '#' comments skipped), each expanded
//   -         -> one path per line of `stdin_stream`, each expanded
// A path that does not exist becomes an input with `problem` set, so it is reported in the
// output and the run goes on. An unreadable @FILE throws UsageError.
ImageInputs collect_image_inputs(const std::vector<std::string>& arguments,
                                 std::istream& stdin_stream);

// The reference's split format: one image per line, "id [label ...]"; the image is
// image_root/id + extension (".jpg" by default). Labels are ignored here.
// Throws UsageError naming the file when it cannot be read.
ImageInputs read_split_file(const std::string& split_file, const std::string& image_root,
                            const std::string& extension = ".jpg");

// The stem of a path: "a/b/2007_000032.jpg" -> "2007_000032".
std::string image_id_of(const std::string& path);

}  // namespace tagclip
