// Small string helpers shared by the readers of list, split and annotation files.
#pragma once

#include <string>

namespace tagclip {

// `text` without leading and trailing spaces, tabs, carriage returns and newlines.
std::string trim_whitespace(const std::string& text);

// True when `text` is well-formed UTF-8 (no stray, overlong or surrogate sequences).
bool is_valid_utf8(const std::string& text);

// Lower-case hex of every byte ("\xff/a" -> "ff2f61"), and back. from_hex returns false for
// an odd length or a character that is not a hex digit.
std::string to_hex(const std::string& bytes);
bool from_hex(const std::string& hex, std::string& bytes);

}  // namespace tagclip
