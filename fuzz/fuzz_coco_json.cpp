// COCO instances JSON.
#include "fuzz_input.h"
#include "tagclip/eval/coco_ground_truth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tagclip::CocoOptions options;
  options.annotations = tagclip::fuzz::write_input(data, size, ".json");
  for (const bool keep_empty : {false, true}) {
    options.keep_images_without_annotations = keep_empty;
    try {
      tagclip::read_coco_ground_truth(options, tagclip::Dataset::kCoco2014);
    } catch (const std::exception&) {
    }
  }
  return 0;
}
