// Python's html.unescape (HTML5 rules) on UTF-32 text, which CLIP's tokenizer applies twice
// to every prompt before cleaning it (simple_tokenizer.py's basic_clean). Numeric references
// follow html._replace_charref; named references are the 252 of HTML4, each with and
// without its ';' where HTML5 allows that (HTML5-only names are left as they are).
#pragma once

#include <string>

namespace tagclip {

// One pass: "&amp;amp;" becomes "&amp;".
std::u32string html_unescape(const std::u32string& text);

}  // namespace tagclip
