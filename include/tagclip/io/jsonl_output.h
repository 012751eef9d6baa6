// The JSON Lines stream `tagclip tag` writes: one object per image, flushed per image, and
// what --resume needs to continue a killed run without duplicates or broken lines.
#pragma once

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace tagclip {

struct ResumeState {
  std::set<std::string> recorded_images;  // "image" of every complete record
  // Tag indices of each recorded image without an error (for --labels-out after a resume).
  std::map<std::string, std::vector<int64_t>> recorded_labels;
  // Index of the highest of each such record's "scores" (in their order), the fallback label.
  std::map<std::string, int64_t> recorded_arg_max;
  // The "scores" keys of the first tagged record, in file order: the vocabulary's classes.
  std::vector<std::string> recorded_classes;
  size_t complete_records = 0;
  bool dropped_partial_line = false;  // a damaged last line was cut off
  size_t dropped_line_number = 0;     // the first line cut off (1-based)
  std::string dropped_line_reason;    // "an unfinished last record", "not JSON", ...
};

// Reads an existing output file for --resume. A last line without its newline (a run killed
// while writing), or last lines that are not records, are cut off the file, so appending
// starts on a fresh line. A record names its image by "image", or by "image_hex" when the
// path is not UTF-8. A missing file is an empty state. Throws UsageError if it cannot be
// read or repaired, and for a damaged line with records after it (cutting there would lose
// them; no run of tagclip leaves that).
ResumeState prepare_resume(const std::string& path);

class JsonlWriter {
 public:
  // path "-" or empty: standard output. `append`: keep existing records (--resume). The
  // file is locked (flock) while the writer lives; throws UsageError when another process
  // holds the lock, before the file is changed.
  JsonlWriter(const std::string& path, bool append);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  // Writes the record and its newline with one write and flushes, so a reader (or a
  // resumed run) never sees half a record from a finished call.
  void write(const nlohmann::ordered_json& record);

 private:
  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  std::string path_;
};

}  // namespace tagclip
