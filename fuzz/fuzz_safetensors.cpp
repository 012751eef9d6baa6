// The safetensors reader and the layout recognition behind --model: any bytes as a
// .safetensors file. Errors are exceptions (ModelError naming the file); a crash, a
// sanitizer report or a leak is a bug.
#include "fuzz_input.h"
#include "fuzz_torch.h"
#include "tagclip/errors.h"
#include "tagclip/model/checkpoint_layouts.h"
#include "tagclip/model/safetensors.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tagclip::fuzz::skip_libtorch_backtraces();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tagclip::fuzz::write_input(data, size, ".safetensors");
  try {
    tagclip::read_safetensors(path);
  } catch (const std::exception&) {
  }
  try {
    tagclip::load_checkpoint(path);  // the same bytes through layout recognition and renaming
  } catch (const std::exception&) {
  }
  return 0;
}
