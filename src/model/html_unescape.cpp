// Python's html.unescape, as CLIP's tokenizer applies it (twice) before cleaning a prompt.
#include "tagclip/model/html_unescape.h"

#include <cstdint>
#include <string>
#include <unordered_map>

namespace tagclip {
namespace {

// Latin-1 named references for U+00A0..U+00FF, in code point order. HTML5 accepts all of
// them without the ';', which is what its "longest prefix" rule looks for.
constexpr const char* kLatin1Names[96] = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

struct NamedReference {
  const char* name;
  char32_t code_point;
  bool semicolon_optional;
};

// The rest of HTML 4.01's references with their HTML5 values (lang/rang moved to U+27E8/9),
// plus &apos; and HTML5's upper-case aliases. HTML5-only names such as &star; are not here.
constexpr NamedReference kOtherNames[] = {
    {"quot", 0x22, true},       {"amp", 0x26, true},       {"lt", 0x3C, true},
    {"gt", 0x3E, true},         {"QUOT", 0x22, true},      {"AMP", 0x26, true},
    {"LT", 0x3C, true},         {"GT", 0x3E, true},        {"COPY", 0xA9, true},
    {"REG", 0xAE, true},        {"apos", 0x27, false},     {"OElig", 0x152, false},
    {"oelig", 0x153, false},    {"Scaron", 0x160, false},  {"scaron", 0x161, false},
    {"Yuml", 0x178, false},     {"fnof", 0x192, false},    {"circ", 0x2C6, false},
    {"tilde", 0x2DC, false},    {"Alpha", 0x391, false},   {"Beta", 0x392, false},
    {"Gamma", 0x393, false},    {"Delta", 0x394, false},   {"Epsilon", 0x395, false},
    {"Zeta", 0x396, false},     {"Eta", 0x397, false},     {"Theta", 0x398, false},
    {"Iota", 0x399, false},     {"Kappa", 0x39A, false},   {"Lambda", 0x39B, false},
    {"Mu", 0x39C, false},       {"Nu", 0x39D, false},      {"Xi", 0x39E, false},
    {"Omicron", 0x39F, false},  {"Pi", 0x3A0, false},      {"Rho", 0x3A1, false},
    {"Sigma", 0x3A3, false},    {"Tau", 0x3A4, false},     {"Upsilon", 0x3A5, false},
    {"Phi", 0x3A6, false},      {"Chi", 0x3A7, false},     {"Psi", 0x3A8, false},
    {"Omega", 0x3A9, false},    {"alpha", 0x3B1, false},   {"beta", 0x3B2, false},
    {"gamma", 0x3B3, false},    {"delta", 0x3B4, false},   {"epsilon", 0x3B5, false},
    {"zeta", 0x3B6, false},     {"eta", 0x3B7, false},     {"theta", 0x3B8, false},
    {"iota", 0x3B9, false},     {"kappa", 0x3BA, false},   {"lambda", 0x3BB, false},
    {"mu", 0x3BC, false},       {"nu", 0x3BD, false},      {"xi", 0x3BE, false},
    {"omicron", 0x3BF, false},  {"pi", 0x3C0, false},      {"rho", 0x3C1, false},
    {"sigmaf", 0x3C2, false},   {"sigma", 0x3C3, false},   {"tau", 0x3C4, false},
    {"upsilon", 0x3C5, false},  {"phi", 0x3C6, false},     {"chi", 0x3C7, false},
    {"psi", 0x3C8, false},      {"omega", 0x3C9, false},   {"thetasym", 0x3D1, false},
    {"upsih", 0x3D2, false},    {"piv", 0x3D6, false},     {"ensp", 0x2002, false},
    {"emsp", 0x2003, false},    {"thinsp", 0x2009, false}, {"zwnj", 0x200C, false},
    {"zwj", 0x200D, false},     {"lrm", 0x200E, false},    {"rlm", 0x200F, false},
    {"ndash", 0x2013, false},   {"mdash", 0x2014, false},  {"lsquo", 0x2018, false},
    {"rsquo", 0x2019, false},   {"sbquo", 0x201A, false},  {"ldquo", 0x201C, false},
    {"rdquo", 0x201D, false},   {"bdquo", 0x201E, false},  {"dagger", 0x2020, false},
    {"Dagger", 0x2021, false},  {"bull", 0x2022, false},   {"hellip", 0x2026, false},
    {"permil", 0x2030, false},  {"prime", 0x2032, false},  {"Prime", 0x2033, false},
    {"lsaquo", 0x2039, false},  {"rsaquo", 0x203A, false}, {"oline", 0x203E, false},
    {"frasl", 0x2044, false},   {"euro", 0x20AC, false},   {"image", 0x2111, false},
    {"weierp", 0x2118, false},  {"real", 0x211C, false},   {"trade", 0x2122, false},
    {"alefsym", 0x2135, false}, {"larr", 0x2190, false},   {"uarr", 0x2191, false},
    {"rarr", 0x2192, false},    {"darr", 0x2193, false},   {"harr", 0x2194, false},
    {"crarr", 0x21B5, false},   {"lArr", 0x21D0, false},   {"uArr", 0x21D1, false},
    {"rArr", 0x21D2, false},    {"dArr", 0x21D3, false},   {"hArr", 0x21D4, false},
    {"forall", 0x2200, false},  {"part", 0x2202, false},   {"exist", 0x2203, false},
    {"empty", 0x2205, false},   {"nabla", 0x2207, false},  {"isin", 0x2208, false},
    {"notin", 0x2209, false},   {"ni", 0x220B, false},     {"prod", 0x220F, false},
    {"sum", 0x2211, false},     {"minus", 0x2212, false},  {"lowast", 0x2217, false},
    {"radic", 0x221A, false},   {"prop", 0x221D, false},   {"infin", 0x221E, false},
    {"ang", 0x2220, false},     {"and", 0x2227, false},    {"or", 0x2228, false},
    {"cap", 0x2229, false},     {"cup", 0x222A, false},    {"int", 0x222B, false},
    {"there4", 0x2234, false},  {"sim", 0x223C, false},    {"cong", 0x2245, false},
    {"asymp", 0x2248, false},   {"ne", 0x2260, false},     {"equiv", 0x2261, false},
    {"le", 0x2264, false},      {"ge", 0x2265, false},     {"sub", 0x2282, false},
    {"sup", 0x2283, false},     {"nsub", 0x2284, false},   {"sube", 0x2286, false},
    {"supe", 0x2287, false},    {"oplus", 0x2295, false},  {"otimes", 0x2297, false},
    {"perp", 0x22A5, false},    {"sdot", 0x22C5, false},   {"lceil", 0x2308, false},
    {"rceil", 0x2309, false},   {"lfloor", 0x230A, false}, {"rfloor", 0x230B, false},
    {"lang", 0x27E8, false},    {"rang", 0x27E9, false},   {"loz", 0x25CA, false},
    {"spades", 0x2660, false},  {"clubs", 0x2663, false},  {"hearts", 0x2665, false},
    {"diams", 0x2666, false}};

// Keys as html.entities.html5 spells them: "name;" always, "name" where HTML5 allows it.
class NamedReferenceTable {
 public:
  NamedReferenceTable() {
    for (int i = 0; i < 96; ++i) add(kLatin1Names[i], 0xA0 + i, true);
    for (const NamedReference& ref : kOtherNames) {
      add(ref.name, ref.code_point, ref.semicolon_optional);
    }
  }
  const char32_t* find(const std::u32string& key) const {
    const auto it = table_.find(key);
    return it == table_.end() ? nullptr : &it->second;
  }

 private:
  void add(const char* name, char32_t code_point, bool semicolon_optional) {
    const std::u32string key(name, name + std::char_traits<char>::length(name));
    table_[key + U";"] = code_point;
    if (semicolon_optional) table_[key] = code_point;
  }
  std::unordered_map<std::u32string, char32_t> table_;
};

// Windows-1252 meanings HTML5 gives to &#128;..&#159;.
constexpr char32_t kCp1252[32] = {0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021,
                                  0x2C6,  0x2030, 0x160,  0x2039, 0x152,  0x8D,   0x17D,  0x8F,
                                  0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                  0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178};

// html._replace_charref for a numeric reference; `value` saturates beyond U+10FFFF.
std::u32string numeric_reference(uint64_t value) {
  if (value == 0) return U"\uFFFD";
  if (value == 0x0D) return U"\r";
  if (value >= 0x80 && value <= 0x9F) return std::u32string(1, kCp1252[value - 0x80]);
  if ((value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) return U"\uFFFD";
  const bool invalid = (value >= 0x01 && value <= 0x08) || value == 0x0B ||
                       (value >= 0x0E && value <= 0x1F) || value == 0x7F ||
                       (value >= 0xFDD0 && value <= 0xFDEF) || (value & 0xFFFE) == 0xFFFE;
  return invalid ? U"" : std::u32string(1, static_cast<char32_t>(value));
}

int digit_value(char32_t c, int base) {
  if (c >= U'0' && c <= U'9') return static_cast<int>(c - U'0');
  if (base == 16 && c >= U'a' && c <= U'f') return static_cast<int>(c - U'a') + 10;
  if (base == 16 && c >= U'A' && c <= U'F') return static_cast<int>(c - U'A') + 10;
  return -1;
}

bool is_name_char(char32_t c) {
  return c != U'\t' && c != U'\n' && c != U'\f' && c != U' ' && c != U'<' && c != U'&' &&
         c != U'#' && c != U';';
}

}  // namespace

// One pass of Python's html.unescape: the regex
//   &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
// with each match replaced once; replacements are not rescanned.
std::u32string html_unescape(const std::u32string& text) {
  static const NamedReferenceTable names;
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != U'&') {
      out += text[i++];
      continue;
    }
    size_t j = i + 1;
    if (j < text.size() && text[j] == U'#') {
      int base = 10;
      size_t k = j + 1;
      if (k < text.size() && (text[k] == U'x' || text[k] == U'X')) {
        base = 16;
        ++k;
      }
      const size_t digits_start = k;
      uint64_t value = 0;
      for (; k < text.size() && digit_value(text[k], base) >= 0; ++k) {
        value = std::min<uint64_t>(value * base + digit_value(text[k], base), 0x110000);
      }
      if (k == digits_start) {  // "&#" or "&#x" without digits: no reference at all
        out += text[i++];
        continue;
      }
      if (k < text.size() && text[k] == U';') ++k;
      out += numeric_reference(value);
      i = k;
      continue;
    }
    size_t end = j;
    while (end < text.size() && end - j < 32 && is_name_char(text[end])) ++end;
    if (end == j) {
      out += text[i++];
      continue;
    }
    if (end < text.size() && text[end] == U';') ++end;
    const std::u32string name = text.substr(j, end - j);
    if (const char32_t* value = names.find(name)) {
      out += *value;
    } else {
      // The longest prefix (of at least 2 characters) that HTML5 accepts without ';'.
      size_t prefix = name.size() - 1;
      const char32_t* value_of_prefix = nullptr;
      for (; prefix >= 2; --prefix) {
        value_of_prefix = names.find(name.substr(0, prefix));
        if (value_of_prefix != nullptr) break;
      }
      if (value_of_prefix != nullptr) {
        out += *value_of_prefix;
        out += name.substr(prefix);
      } else {
        out += U'&';
        out += name;
      }
    }
    i = end;
  }
  return out;
}

}  // namespace tagclip
