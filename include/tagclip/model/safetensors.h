// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the raw little-endian
// tensor bytes. Hugging Face and open_clip publish CLIP weights in it.
#pragma once

#include <map>
#include <string>

#include "tagclip/model/checkpoint.h"

namespace tagclip {

// Reads every tensor of a .safetensors file (CPU tensors in the stored dtype). Before any
// tensor is read, the header is checked as the format's reference reader does: a length
// that fits the file and at most 100 MiB, a JSON object, known dtypes, non-negative shapes,
// byte ranges that hold exactly shape x element size and tile the data section from its
// first byte to the file's end without gaps or overlaps. Any failure is a ModelError naming
// the file (and the tensor, where one is at fault).
StateDict read_safetensors(const std::string& path);

// The "__metadata__" strings of a .safetensors header (empty when it has none); the same
// checks as read_safetensors on the header.
std::map<std::string, std::string> read_safetensors_metadata(const std::string& path);

// Writes `state` (any CPU or device tensors; stored contiguous, in their dtype) with
// optional metadata, atomically (core/atomic_file.h). Throws Error naming `path` on failure
// and UsageError for a dtype the format has no name for.
void write_safetensors(const std::string& path, const StateDict& state,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace tagclip
