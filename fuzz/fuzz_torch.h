// For the targets whose inputs reach LibTorch (checkpoint, safetensors): LibTorch 1.13
// symbolises a full C++ backtrace (dladdr per frame) into every c10::Error it builds, and a
// damaged archive throws one per input: 70% of the checkpoint target's time went there
// (120 executions a second). The harness swaps in an empty backtrace. Only the text of
// LibTorch's messages changes; tagclip keeps their first line, never the backtrace.
#pragma once

#include <c10/util/Logging.h>

#include <string>

namespace tagclip::fuzz {

inline void skip_libtorch_backtraces() {
  c10::SetStackTraceFetcher([] { return std::string(); });
}

}  // namespace tagclip::fuzz
