// Whole-file writes that a kill cannot leave half done.
#pragma once

#include <fstream>
#include <string>
#include <string_view>

namespace tagclip {

// Writes `bytes` to a temporary file beside `path` (same folder, so the rename stays on one
// file system), then renames it over `path`. On failure the temporary file is removed and
// Error is thrown naming `path` and the problem; an existing `path` is left as it was.
void write_file_atomically(const std::string& path, std::string_view bytes);

// The same for a file written piece by piece (a merged output too large to hold in memory):
// the pieces go to the temporary file, commit() renames it over `path`, and a writer
// destroyed before commit() removes it.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::string_view bytes);
  void commit();  // throws Error naming `path` when the data did not all reach the disk

 private:
  std::string path_, temporary_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace tagclip
