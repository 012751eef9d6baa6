#include "tagclip/io/jsonl_output.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tagclip/core/tag_record.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace fs = std::filesystem;

ResumeState prepare_resume(const std::string& path) {
  ResumeState state;
  std::error_code ec;
  if (path.empty() || path == "-" || !fs::exists(path, ec)) return state;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": cannot read the output file to resume");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  size_t keep_bytes = 0;         // prefix that ends with the last whole, valid record
  size_t first_bad_line = 0;     // 1-based; 0: none since the last valid record
  std::string first_bad_reason;  // why that line is not a record
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    ++line_number;
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) {  // unfinished last line
      if (!first_bad_line) {
        first_bad_line = line_number;
        first_bad_reason = "an unfinished last record";
      }
      break;
    }
    // ordered_json keeps "scores" in file (vocabulary) order for the arg max.
    const nlohmann::ordered_json record =
        nlohmann::ordered_json::parse(text.begin() + static_cast<long>(start),
                                      text.begin() + static_cast<long>(end), nullptr, false);
    std::optional<std::string> image;
    try {
      image = record_image(record);
    } catch (const RecordError&) {
    }
    start = end + 1;
    if (!image) {
      if (!first_bad_line) {
        first_bad_line = line_number;
        first_bad_reason = record.is_discarded() ? "not JSON" : "not a tag record";
      }
      continue;
    }
    // A damaged line with whole records after it is not what an interrupted run leaves:
    // cutting the file there would lose those records, so the resume stops instead.
    if (first_bad_line)
      throw UsageError(path + ": line " + std::to_string(first_bad_line) + " is " +
                       first_bad_reason + ", but records follow it (line " +
                       std::to_string(line_number) +
                       " and on); --resume would lose them. Repair or delete that line, then "
                       "resume.");
    state.recorded_images.insert(*image);
    // A record whose image is known is kept; its labels count when it is a whole record.
    try {
      const TagRecord parsed = tag_record_from_json(record);
      if (parsed.tagged()) {
        if (state.recorded_classes.empty())
          for (const auto& [label, score] : parsed.scores) state.recorded_classes.push_back(label);
        state.recorded_labels[*image] = parsed.tag_indices();
        if (const auto arg_max = parsed.arg_max()) state.recorded_arg_max[*image] = *arg_max;
      }
    } catch (const RecordError&) {
    }
    ++state.complete_records;
    keep_bytes = start;
  }
  if (keep_bytes < text.size()) {
    state.dropped_partial_line = true;
    state.dropped_line_number = first_bad_line;
    state.dropped_line_reason = first_bad_reason;
    fs::resize_file(path, keep_bytes, ec);
    if (ec) throw UsageError(path + ": cannot cut off its damaged last line: " + ec.message());
  }
  return state;
}

JsonlWriter::JsonlWriter(const std::string& path, bool append) : path_(path) {
  if (path.empty() || path == "-") {
    file_ = stdout;
    path_ = "standard output";
    return;
  }
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  // Opened without truncation, locked, and only then emptied: a second run on the same
  // file (two --resume runs would interleave and duplicate records) is refused before it
  // touches a byte of the first one's output.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0)
    throw UsageError(path + ": cannot open for writing: " + std::string(std::strerror(errno)));
  // Only regular files: /dev/null or a FIFO is shared by design and cannot be emptied.
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  if (regular && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EWOULDBLOCK) {
      ::close(fd);
      throw UsageError(path +
                       ": another tagclip run is writing this file (it holds the file's lock); "
                       "wait for it to end, or write elsewhere");
    }
    // Some network file systems have no locks: go on, as before locks existed.
    spdlog::warn("{}: cannot lock the output file ({}); do not run two tagclip on it at once", path,
                 std::strerror(error));
  }
  if (regular && !append && ::ftruncate(fd, 0) != 0) {
    const int error = errno;
    ::close(fd);
    throw UsageError(path + ": cannot empty the file: " + std::string(std::strerror(error)));
  }
  file_ = ::fdopen(fd, "ab");
  if (file_ == nullptr) {
    ::close(fd);
    throw UsageError(path + ": cannot open for writing");
  }
  owns_file_ = true;
}

JsonlWriter::~JsonlWriter() {
  if (owns_file_ && file_ != nullptr) std::fclose(file_);
}

void JsonlWriter::write(const nlohmann::ordered_json& record) {
  const std::string line =
      record.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  std::fflush(file_);
  // One write(2) of the whole line: nothing is buffered between records.
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t written = ::write(::fileno(file_), data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw OutputError(path_ + ": write failed: " + std::string(std::strerror(errno)));
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
}

}  // namespace tagclip
