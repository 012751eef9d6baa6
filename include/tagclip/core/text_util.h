// Small string helpers shared by the readers of list, split and annotation files.
#pragma once

#include <string>

namespace tagclip {

// `text` without leading and trailing spaces, tabs, carriage returns and newlines.
std::string trim_whitespace(const std::string& text);

}  // namespace tagclip
