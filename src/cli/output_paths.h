// Checks on output paths made before a run starts, so an unusable --meta-out or
// --report-json is a usage error at once, not after hours of tagging.
#pragma once

#include <string>

namespace tagclip::cli {

// Makes sure a file can later be written at `path`: creates its folder when missing, and
// throws UsageError naming `flag` and the path when the folder cannot be made or is not
// writable. "" and "-" (standard output) pass.
void prepare_output_path(const std::string& path, const std::string& flag);

}  // namespace tagclip::cli
