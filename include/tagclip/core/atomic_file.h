// Whole-file writes that a kill cannot leave half done.
#pragma once

#include <string>
#include <string_view>

namespace tagclip {

// Writes `bytes` to a temporary file beside `path` (same folder, so the rename stays on one
// file system), then renames it over `path`. On failure the temporary file is removed and
// Error is thrown naming `path` and the problem; an existing `path` is left as it was.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace tagclip
