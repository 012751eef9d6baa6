// Split files (the authors' "id idx idx" format, for eval and for tag --split-file) and
// path lists (@list.txt, stdin).
//
// A path list names folders that are then scanned recursively, as it should; a line "/"
// made the fuzzer walk the whole file system (executions of 10-40 s). So the list is read
// from inside an empty private folder and its '/' bytes become '_': a line can then name
// only that folder, its parent (which holds nothing else) or a missing file, and the
// executions go to the line parsing. The split readers get the bytes unchanged (they only
// test whether root/id.jpg exists).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "fuzz_input.h"
#include "tagclip/eval/ground_truth.h"
#include "tagclip/io/image_inputs.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // <scratch>/tagclip-fuzz-<pid>.d/empty: ".." from the working folder reaches only ".d".
  const std::string parent = tagclip::fuzz::scratch_path(".d");
  const std::string empty = parent + "/empty";
  if (::mkdir(parent.c_str(), 0700) != 0 || ::mkdir(empty.c_str(), 0700) != 0 ||
      ::chdir(empty.c_str()) != 0)
    std::abort();  // the harness cannot give its guarantee: stop rather than scan "/"
  return 0;
}

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
  std::string lines(reinterpret_cast<const char*>(data), size);
  std::replace(lines.begin(), lines.end(), '/', '_');
  std::istringstream list(lines);
  try {
    tagclip::collect_image_inputs({"-"}, list);
  } catch (const std::exception&) {
  }
  return 0;
}
