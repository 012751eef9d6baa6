// A check of a pickle's declared lengths before LibTorch's unpickler reads it. Private to
// src/model.
//
// LibTorch 1.13's unpickler allocates a string of the length an opcode declares before it
// reads the bytes: a damaged data.pkl of a few KB declaring a 4 GiB string took 4.3 GB of
// memory before "Unexpected end of pickler archive" (found by the checkpoint fuzzer).
#pragma once

#include <string>

namespace tagclip {

// Walks the opcodes of `pickle` (any protocol) and throws ModelError naming `path` and
// `record` when an argument or a declared string, bytes or integer length reaches past its
// end. Stops at STOP, and at an opcode the pickle format does not define (the unpickler
// refuses those itself).
void check_pickle_lengths(const std::string& pickle, const std::string& path,
                          const std::string& record);

}  // namespace tagclip
