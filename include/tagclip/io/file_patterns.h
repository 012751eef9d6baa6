// File arguments that may be shell patterns ("out/tags.*-of-00016.jsonl"), expanded by
// tagclip itself when they reach it quoted (Slurm and Kubernetes commands often do).
#pragma once

#include <string>
#include <vector>

namespace tagclip {

// Each argument with *, ? or [ is replaced by the files it matches, sorted; others stay as
// they are (a missing plain file is for the reader to report). Throws UsageError naming a
// pattern that matches nothing.
std::vector<std::string> expand_file_patterns(const std::vector<std::string>& arguments);

}  // namespace tagclip
