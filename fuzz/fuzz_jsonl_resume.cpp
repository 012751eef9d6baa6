// The JSON Lines reader behind --resume (it may cut a damaged last line off the file) and
// the record parser eval and merge use.
#include "fuzz_input.h"
#include "tagclip/core/tag_record.h"
#include "tagclip/io/jsonl_output.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tagclip::fuzz::write_input(data, size, ".jsonl");
  try {
    tagclip::prepare_resume(path);
  } catch (const std::exception&) {
  }
  const auto json = nlohmann::ordered_json::parse(data, data + size, nullptr, false);
  try {
    tagclip::tag_record_from_json(json);
  } catch (const std::exception&) {
  }
  return 0;
}
