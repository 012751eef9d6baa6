// PASCAL VOC annotation XML.
#include "fuzz_input.h"
#include "tagclip/eval/voc_ground_truth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tagclip::fuzz::write_input(data, size, ".xml");
  try {
    tagclip::read_voc_annotation(path);
  } catch (const std::exception&) {
  }
  return 0;
}
