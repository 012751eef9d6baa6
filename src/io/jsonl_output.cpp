#include "tagclip/io/jsonl_output.h"

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

  size_t keep_bytes = 0;  // prefix of whole, valid lines
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // unfinished last line
    // ordered_json keeps "scores" in file (vocabulary) order for the arg max.
    const nlohmann::ordered_json record =
        nlohmann::ordered_json::parse(text.begin() + static_cast<long>(start),
                                      text.begin() + static_cast<long>(end), nullptr, false);
    if (!record.is_object() || !record.contains("image") || !record["image"].is_string()) break;
    const std::string image = record["image"].get<std::string>();
    state.recorded_images.insert(image);
    // A record whose image is known is kept; its labels count when it is a whole record.
    try {
      const TagRecord parsed = tag_record_from_json(record);
      if (parsed.tagged()) {
        state.recorded_labels[image] = parsed.tag_indices();
        if (const auto arg_max = parsed.arg_max()) state.recorded_arg_max[image] = *arg_max;
      }
    } catch (const RecordError&) {
    }
    ++state.complete_records;
    keep_bytes = end + 1;
    start = end + 1;
  }
  if (keep_bytes < text.size()) {
    state.dropped_partial_line = true;
    fs::resize_file(path, keep_bytes, ec);
    if (ec) throw UsageError(path + ": cannot cut off its unfinished last line: " + ec.message());
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
  file_ = std::fopen(path.c_str(), append ? "ab" : "wb");
  if (file_ == nullptr) throw UsageError(path + ": cannot open for writing");
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
