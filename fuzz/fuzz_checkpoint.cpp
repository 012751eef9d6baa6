// The checkpoint reader: any bytes as a .pt file. Errors are exceptions (ModelError for a
// damaged archive); a crash, a sanitizer report or a leak is a bug.
#include "fuzz_input.h"
#include "fuzz_torch.h"
#include "tagclip/errors.h"
#include "tagclip/model/checkpoint.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tagclip::fuzz::skip_libtorch_backtraces();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tagclip::fuzz::write_input(data, size, ".pt");
  try {
    const tagclip::StateDict state = tagclip::load_state_dict(path);
    tagclip::infer_architecture(state, path);
    tagclip::weights_fingerprint(state);
  } catch (const std::exception&) {
  }
  return 0;
}
