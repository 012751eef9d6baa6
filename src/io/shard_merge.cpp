#include "tagclip/io/shard_merge.h"

#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "tagclip/core/atomic_file.h"
#include "tagclip/core/tag_record.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

std::string where(const MergePlan& plan, const ShardRecordLocation& location) {
  return plan.files[location.file] + ":" + std::to_string(location.line_number);
}

// The record's labels when it is a tag record; a segment record (or any other) is not one.
void read_tag_labels(const nlohmann::ordered_json& json, ShardRecordLocation& location) {
  if (!json.contains("scores") && !json.contains("error")) return;
  try {
    location.split_labels = tag_record_from_json(json).split_labels();
    location.tag_record = true;
  } catch (const RecordError&) {
  }
}

}  // namespace

MergePlan plan_shard_merge(const std::vector<ImageInput>& inputs,
                           const std::vector<std::string>& files) {
  MergePlan plan;
  plan.files = files;
  ShardRecordLocation no_record;
  no_record.file = MergePlan::kMissing;
  plan.records.assign(inputs.size(), no_record);
  // Input positions per path not yet given a record, in input order.
  std::unordered_map<std::string, std::deque<size_t>> open_positions;
  std::unordered_map<std::string, std::vector<size_t>> positions_of;
  for (size_t k = 0; k < inputs.size(); ++k) {
    open_positions[inputs[k].path].push_back(k);
    positions_of[inputs[k].path].push_back(k);
  }
  std::unordered_map<std::string, std::vector<std::string>> surplus;  // path -> extra records
  std::vector<std::string> surplus_order;

  for (size_t file = 0; file < files.size(); ++file) {
    std::ifstream in(files[file], std::ios::binary);
    if (!in) throw Error(files[file] + ": cannot read this shard output");
    std::string line;
    uint64_t offset = 0;
    for (size_t line_number = 1; std::getline(in, line); ++line_number) {
      const std::string place = files[file] + ":" + std::to_string(line_number);
      // getline stops at end of file only when the last line has no newline.
      if (in.eof())
        throw Error(place +
                    ": unfinished last record (its task was stopped while writing; run it "
                    "again with --resume)");
      const uint64_t length = line.size() + 1;  // with its newline
      ShardRecordLocation location;
      location.file = file;
      location.offset = offset;
      location.length = length;
      location.line_number = line_number;
      offset += length;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const nlohmann::ordered_json json = nlohmann::ordered_json::parse(line, nullptr, false);
      std::optional<std::string> named;
      try {
        named = record_image(json);
      } catch (const RecordError& e) {
        throw Error(place + ": " + e.what());
      }
      if (!named) throw Error(place + ": not a record (a JSON object with an \"image\")");
      ++plan.records_read;
      const std::string image = *named;
      read_tag_labels(json, location);
      const auto open = open_positions.find(image);
      if (open != open_positions.end() && !open->second.empty()) {
        plan.records[open->second.front()] = std::move(location);
        open->second.pop_front();
      } else if (positions_of.count(image)) {
        if (!surplus.count(image)) surplus_order.push_back(image);
        surplus[image].push_back(place);
      } else {
        plan.unexpected.push_back(image + " (" + place + ")");
      }
    }
  }
  for (const std::string& image : surplus_order) {
    std::string places;
    for (size_t k : positions_of[image])
      places += (places.empty() ? "" : ", ") + where(plan, plan.records[k]);
    for (const std::string& place : surplus[image]) places += ", " + place;
    plan.duplicated.push_back(image + " (" + places + ")");
  }
  for (size_t k = 0; k < inputs.size(); ++k)
    if (plan.records[k].file == MergePlan::kMissing) plan.missing.push_back(inputs[k].path);
  return plan;
}

void write_shard_merge(const MergePlan& plan, const std::string& output) {
  const bool to_stdout = output.empty() || output == "-";
  std::unique_ptr<AtomicFileWriter> file;
  if (!to_stdout) file = std::make_unique<AtomicFileWriter>(output);
  std::vector<std::ifstream> shards;
  for (const std::string& path : plan.files) shards.emplace_back(path, std::ios::binary);
  std::string line;
  for (const ShardRecordLocation& location : plan.records) {
    if (location.file == MergePlan::kMissing) continue;
    std::ifstream& in = shards[location.file];
    line.resize(location.length);
    in.seekg(static_cast<std::streamoff>(location.offset));
    in.read(line.data(), static_cast<std::streamsize>(location.length));
    if (!in)
      throw Error(plan.files[location.file] + ": changed while merging (line " +
                  std::to_string(location.line_number) + " cannot be reread)");
    if (to_stdout)
      std::cout.write(line.data(), static_cast<std::streamsize>(line.size()));
    else
      file->write(line);
  }
  if (to_stdout) {
    std::cout.flush();
    if (!std::cout) throw Error("standard output: write failed");
  } else {
    file->commit();
  }
}

}  // namespace tagclip
