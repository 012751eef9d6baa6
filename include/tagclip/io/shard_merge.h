// Joining the outputs of a sharded run (one JSON Lines file per shard) back into the file a
// single process would have written: every input's record, in input order, byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tagclip/io/image_inputs.h"

namespace tagclip {

// Where one record's line lies in the shard files.
struct ShardRecordLocation {
  size_t file = 0;                    // index into the merged files
  uint64_t offset = 0;                // of the line's first byte
  uint64_t length = 0;                // with its newline
  size_t line_number = 0;             // 1-based, for messages
  bool tag_record = false;            // a `tagclip tag` record (with "scores" or "error")
  std::vector<int64_t> split_labels;  // tag records: TagRecord::split_labels()
};

struct MergePlan {
  std::vector<std::string> files;
  // One per input, in input order; records[k].file == kMissing when input k has none.
  std::vector<ShardRecordLocation> records;
  std::vector<std::string> missing;     // input paths with no record
  std::vector<std::string> duplicated;  // "path (file:line, file:line)": more records than inputs
  std::vector<std::string> unexpected;  // "path (file:line)": records of images not in the inputs
  size_t records_read = 0;

  static constexpr size_t kMissing = static_cast<size_t>(-1);
  bool complete() const { return missing.empty() && duplicated.empty() && unexpected.empty(); }
};

// Reads every record of `files` and assigns each to an input with the same "image" path (an
// input listed twice takes two records, in file order). Throws Error naming the file and
// line for an unreadable file, a line that is not a JSON object with an "image" string, or
// an unfinished last line (a task killed mid-write and never resumed).
MergePlan plan_shard_merge(const std::vector<ImageInput>& inputs,
                           const std::vector<std::string>& files);

// Writes the planned records in input order (inputs without a record are left out) to
// `output` through a temporary file and a rename; "-" writes to standard output. Throws
// Error naming the file when a shard cannot be reread or the output cannot be written.
void write_shard_merge(const MergePlan& plan, const std::string& output);

}  // namespace tagclip
