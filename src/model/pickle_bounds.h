// A check of a pickle's declared lengths and memo indices before LibTorch's unpickler reads
// it. Private to src/model.
//
// LibTorch 1.13's unpickler trusts what the opcodes declare: a damaged data.pkl of a few KB
// declaring a 4 GiB string took 4.3 GB of memory before "Unexpected end of pickler
// archive", a memo index of 1.7 billion (LONG_BINPUT) grew its memo table to 27 GB, and a
// BUILD on an empty stack read before the stack's start (SIGSEGV), and an integer 18 where a
// storage's type belongs divided by a zero element size (SIGFPE); all found by the
// checkpoint fuzzer.
#pragma once

#include <string>

namespace tagclip {

// Walks the opcodes of `pickle` (any protocol) and throws ModelError naming `path` and
// `record` when an argument or a declared string, bytes or integer length reaches past its
// end; when an opcode takes more items than the stack holds above its last open mark, or
// pops to a mark that is not there; when a memo store skips ahead of the entries stored so
// far (picklers number them 0, 1, 2, ...) or a memo read names one not stored; when a
// persistent load (BINPERSID) is not given a 5-item tuple whose second item is a
// torch.<Type>Storage class of a plain element type. Stops at STOP, at an opcode the pickle
// format does not define and at a protocol other than 2 (the unpickler refuses both).
void check_pickle_bounds(const std::string& pickle, const std::string& path,
                         const std::string& record);

}  // namespace tagclip
