// Split files (the authors' "id idx idx" format, for eval and for tag --split-file) and
// path lists (@list.txt, stdin).
#include <sstream>

#include "fuzz_input.h"
#include "tagclip/eval/ground_truth.h"
#include "tagclip/io/image_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tagclip::fuzz::write_input(data, size, ".txt");
  for (const tagclip::Dataset dataset :
       {tagclip::Dataset::kVoc2007, tagclip::Dataset::kCoco2014, tagclip::Dataset::kCocoStuff}) {
    try {
      tagclip::read_split_ground_truth(path, dataset, "/nonexistent");
    } catch (const std::exception&) {
    }
  }
  try {
    tagclip::read_split_file(path, "/nonexistent", ".jpg");
  } catch (const std::exception&) {
  }
  std::istringstream list(std::string(reinterpret_cast<const char*>(data), size));
  try {
    tagclip::collect_image_inputs({"-"}, list);
  } catch (const std::exception&) {
  }
  return 0;
}
