// CLIP's BPE tokenizer. Every step mirrors simple_tokenizer.py; the comments say where
// Python's semantics are subtle enough that a plain reimplementation would drift.
#include "tagclip/tokenizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <zlib.h>

#include <algorithm>
#include <iterator>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

// simple_tokenizer.py keeps lines 1..48894 after the header (its arithmetic, 49152 - 256 - 2),
// which with 512 byte symbols and 2 specials gives the 49408 rows of CLIP's token embedding.
constexpr int kMergeCount = 49152 - 256 - 2;

// ---------------------------------------------------------------- UTF conversions

bool is_valid_utf8(const std::string& utf8) {
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  // Preflight with a null buffer: ill-formed input is reported rather than replaced.
  u_strFromUTF8(nullptr, 0, &length, utf8.data(), static_cast<int32_t>(utf8.size()), &status);
  return status == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(status);
}

std::u32string to_utf32(const std::string& utf8) {
  if (!is_valid_utf8(utf8)) throw TokenizerError("text is not valid UTF-8: \"" + utf8 + "\"");
  const icu::UnicodeString text = icu::UnicodeString::fromUTF8(utf8);
  std::u32string out(static_cast<size_t>(text.countChar32()), U'\0');
  UErrorCode status = U_ZERO_ERROR;
  text.toUTF32(reinterpret_cast<UChar32*>(out.data()), static_cast<int32_t>(out.size()), status);
  return out;
}

icu::UnicodeString to_icu(const std::u32string& text) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()),
                                       static_cast<int32_t>(text.size()));
}

std::u32string from_icu(const icu::UnicodeString& text) {
  std::u32string out(static_cast<size_t>(text.countChar32()), U'\0');
  UErrorCode status = U_ZERO_ERROR;
  text.toUTF32(reinterpret_cast<UChar32*>(out.data()), static_cast<int32_t>(out.size()), status);
  return out;
}

std::string to_utf8(const std::u32string& text) {
  std::string out;
  to_icu(text).toUTF8String(out);
  return out;
}

// ---------------------------------------------------------------- character classes

// Python's str.isspace(), used by strip(): White_Space plus the separators U+001C..U+001F.
bool is_python_space(char32_t c) { return u_isUWhiteSpace(c) || (c >= 0x1C && c <= 0x1F); }

// The regex module's \s: the White_Space property (without U+001C..U+001F).
bool is_regex_space(char32_t c) { return u_isUWhiteSpace(c); }

bool is_letter_or_number(char32_t c) {
  return (U_GET_GC_MASK(c) & (U_GC_L_MASK | U_GC_N_MASK)) != 0;
}

// How one code point is seen by [\p{L}]+ | [\p{N}] | [^\s\p{L}\p{N}]+ under IGNORECASE.
enum class CharClass { kLetter, kNumber, kSpace, kOther, kUnmatched };

CharClass classify(char32_t c) {
  const uint32_t mask = U_GET_GC_MASK(c);
  if (mask & U_GC_L_MASK) return CharClass::kLetter;
  if (mask & U_GC_N_MASK) return CharClass::kNumber;
  if (is_regex_space(c)) return CharClass::kSpace;
  // A case-insensitive negated class also rejects a character whose case variant is in
  // the set: U+0345 (combining ypogegrammeni folds to iota) matches no alternative at all.
  const char32_t folded = static_cast<char32_t>(u_foldCase(c, U_FOLD_CASE_DEFAULT));
  if (folded != c && is_letter_or_number(folded)) return CharClass::kUnmatched;
  return CharClass::kOther;
}

// Does `text` at `pos` match the lower-case ASCII `literal` under simple case folding
// (so that 'ſ' matches 's', as in the reference's IGNORECASE regex)?
bool matches_folded(const std::u32string& text, size_t pos, const std::u32string& literal) {
  if (text.size() - pos < literal.size()) return false;
  for (size_t k = 0; k < literal.size(); ++k) {
    if (static_cast<char32_t>(u_foldCase(text[pos + k], U_FOLD_CASE_DEFAULT)) != literal[k]) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- html.unescape

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

// One pass of Python's html.unescape: the regex
//   &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
// with each match replaced once; replacements are not rescanned.
std::u32string unescape_once(const std::u32string& text) {
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

// ---------------------------------------------------------------- cleaning

std::u32string strip_python(const std::u32string& text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && is_python_space(text[begin])) ++begin;
  while (end > begin && is_python_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

std::u32string clean_utf32(const std::string& utf8_text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw TokenizerError("ICU has no NFC normaliser");
  // ftfy.fix_text leaves clean text NFC-normalised; its other fixes are not reproduced.
  const std::u32string normalised = from_icu(nfc->normalize(to_icu(to_utf32(utf8_text)), status));
  const std::u32string unescaped = strip_python(unescape_once(unescape_once(normalised)));

  std::u32string collapsed;
  collapsed.reserve(unescaped.size());
  for (size_t i = 0; i < unescaped.size();) {
    if (!is_regex_space(unescaped[i])) {
      collapsed += unescaped[i++];
      continue;
    }
    collapsed += U' ';
    while (i < unescaped.size() && is_regex_space(unescaped[i])) ++i;
  }
  // Python's lower() is full lower-casing with the final-sigma rule: ICU's root locale.
  return from_icu(to_icu(strip_python(collapsed)).toLower(icu::Locale::getRoot()));
}

// ---------------------------------------------------------------- pre-tokenizing

const std::u32string kStartLiteral = U"<|startoftext|>";
const std::u32string kEndLiteral = U"<|endoftext|>";
// In the reference's alternation order; the first one that matches wins.
const std::u32string kContractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};

std::vector<std::u32string> split_utf32(const std::u32string& text) {
  std::vector<std::u32string> words;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 0;
    for (const std::u32string* literal : {&kStartLiteral, &kEndLiteral}) {
      if (matches_folded(text, pos, *literal)) {
        length = literal->size();
        break;
      }
    }
    for (size_t c = 0; length == 0 && c < std::size(kContractions); ++c) {
      if (matches_folded(text, pos, kContractions[c])) length = kContractions[c].size();
    }
    if (length == 0) {
      const CharClass kind = classify(text[pos]);
      if (kind == CharClass::kNumber) {
        length = 1;
      } else if (kind == CharClass::kLetter || kind == CharClass::kOther) {
        length = 1;
        while (pos + length < text.size() && classify(text[pos + length]) == kind) ++length;
      } else {  // findall skips what no alternative matches
        ++pos;
        continue;
      }
    }
    words.push_back(text.substr(pos, length));
    pos += length;
  }
  return words;
}

// ---------------------------------------------------------------- vocabulary file

// bytes_to_unicode(): the bytes that are printable Latin-1 map to themselves, the others
// (in increasing order) to U+0100 onwards. `order` is the dict's order, which is the order
// of the first 256 vocabulary entries.
struct ByteAlphabet {
  uint8_t order[256];
  char32_t code_point[256];
  ByteAlphabet() {
    int n = 0;
    bool printable[256] = {};
    for (int b = 0; b < 256; ++b) {
      printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      if (printable[b]) {
        order[n++] = static_cast<uint8_t>(b);
        code_point[b] = static_cast<char32_t>(b);
      }
    }
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      if (printable[b]) continue;
      order[n++] = static_cast<uint8_t>(b);
      code_point[b] = static_cast<char32_t>(256 + extra++);
    }
  }
};

std::string read_gzip_text(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw TokenizerError(path + ": cannot open the BPE vocabulary");
  std::string content;
  char buffer[1 << 16];
  int read = 0;
  while ((read = gzread(file, buffer, sizeof buffer)) > 0) content.append(buffer, read);
  int error = Z_OK;
  const std::string message = gzerror(file, &error);
  gzclose(file);
  if (read < 0 || (error != Z_OK && error != Z_STREAM_END)) {
    throw TokenizerError(path + ": cannot decompress the BPE vocabulary: " + message);
  }
  return content;
}

std::vector<std::string> split_on_newlines(const std::string& text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  for (size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
    lines.push_back(text.substr(begin, end - begin));
  }
  lines.push_back(text.substr(begin));
  return lines;
}

// str.split() for the merge lines: the byte alphabet holds no whitespace, so ASCII
// whitespace (including a CRLF file's '\r') is all that can separate the two symbols.
std::vector<std::string> split_on_ascii_space(const std::string& line) {
  const auto is_space = [](char c) {
    return static_cast<unsigned char>(c) < 0x80 && is_python_space(static_cast<char32_t>(c));
  };
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const size_t begin = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > begin) parts.push_back(line.substr(begin, i - begin));
  }
  return parts;
}

}  // namespace

// ---------------------------------------------------------------- ClipTokenizer

ClipTokenizer::ClipTokenizer(const std::string& bpe_path) : bpe_path_(bpe_path) {
  const std::string content = read_gzip_text(bpe_path);
  if (!is_valid_utf8(content)) {
    throw TokenizerError(bpe_path + ": the BPE vocabulary is not UTF-8 text");
  }
  const std::vector<std::string> lines = split_on_newlines(content);
  if (lines.size() < static_cast<size_t>(kMergeCount) + 1) {
    throw TokenizerError(bpe_path + ": expected a header and " + std::to_string(kMergeCount) +
                         " merge lines, found " + std::to_string(lines.size()) + " lines");
  }

  // The vocabulary in the reference's order; on a repeated string the last id wins, as
  // in dict(zip(vocab, range(len(vocab)))).
  const ByteAlphabet alphabet;
  std::vector<std::string> vocab;
  vocab.reserve(512 + kMergeCount + 2);
  for (const char* suffix : {"", "</w>"}) {
    for (uint8_t b : alphabet.order)
      vocab.push_back(to_utf8(std::u32string(1, alphabet.code_point[b])) + suffix);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(kMergeCount);
  for (int k = 0; k < kMergeCount; ++k) {
    const std::string& line = lines[static_cast<size_t>(k) + 1];
    const std::vector<std::string> parts = split_on_ascii_space(line);
    if (parts.size() != 2) {
      throw TokenizerError(bpe_path + ": line " + std::to_string(k + 2) +
                           " is not a merge of two symbols: \"" + line + "\"");
    }
    merges.emplace_back(parts[0], parts[1]);
    vocab.push_back(merges.back().first + merges.back().second);
  }
  vocab.push_back("<|startoftext|>");
  vocab.push_back("<|endoftext|>");

  std::unordered_map<std::string, int32_t> encoder;
  encoder.reserve(vocab.size());
  for (size_t id = 0; id < vocab.size(); ++id) encoder[vocab[id]] = static_cast<int32_t>(id);
  vocab_size_ = static_cast<int64_t>(vocab.size());
  start_token_ = encoder.at("<|startoftext|>");
  end_token_ = encoder.at("<|endoftext|>");
  for (int i = 0; i < 256; ++i) {
    const uint8_t b = alphabet.order[i];
    byte_id_[b] = encoder.at(vocab[i]);
    byte_end_id_[b] = encoder.at(vocab[256 + i]);
  }
  // A merge whose halves are not vocabulary symbols can never apply; later ranks of a
  // repeated pair win, as in dict(zip(merges, range(len(merges)))).
  merges_.reserve(merges.size());
  for (size_t k = 0; k < merges.size(); ++k) {
    const auto left = encoder.find(merges[k].first);
    const auto right = encoder.find(merges[k].second);
    if (left == encoder.end() || right == encoder.end()) continue;
    const uint64_t key =
        (static_cast<uint64_t>(left->second) << 32) | static_cast<uint32_t>(right->second);
    merges_[key] = Merge{static_cast<int32_t>(k), encoder.at(merges[k].first + merges[k].second)};
  }
}

void ClipTokenizer::encode_word(const std::string& word, std::vector<int64_t>& ids) const {
  // The reference's cache is pre-seeded with the special tokens, so typing them yields them.
  if (word == "<|startoftext|>" || word == "<|endoftext|>") {
    ids.push_back(word == "<|startoftext|>" ? start_token_ : end_token_);
    return;
  }

  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    const auto b = static_cast<uint8_t>(word[i]);
    symbols.push_back(i + 1 < word.size() ? byte_id_[b] : byte_end_id_[b]);
  }
  std::vector<int32_t> merged;
  while (symbols.size() > 1) {
    // The pair of lowest rank anywhere in the word is merged everywhere, left to right.
    const Merge* best = nullptr;
    uint64_t best_key = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const uint64_t key =
          (static_cast<uint64_t>(symbols[i]) << 32) | static_cast<uint32_t>(symbols[i + 1]);
      const auto it = merges_.find(key);
      if (it != merges_.end() && (best == nullptr || it->second.rank < best->rank)) {
        best = &it->second;
        best_key = key;
      }
    }
    if (best == nullptr) break;
    const auto first = static_cast<int32_t>(best_key >> 32);
    const auto second = static_cast<int32_t>(best_key & 0xFFFFFFFFu);
    merged.clear();
    for (size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second) {
        merged.push_back(best->merged_id);
        i += 2;
      } else {
        merged.push_back(symbols[i++]);
      }
    }
    symbols.swap(merged);
  }
  ids.insert(ids.end(), symbols.begin(), symbols.end());
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& utf8_text) const {
  std::vector<int64_t> ids;
  for (const std::u32string& word : split_utf32(clean_utf32(utf8_text))) {
    encode_word(to_utf8(word), ids);
  }
  return ids;
}

std::vector<int64_t> ClipTokenizer::tokenize(const std::string& text, int context_length,
                                             bool truncate) const {
  if (context_length < 1) {
    throw TokenizerError("context length must be positive, got " + std::to_string(context_length));
  }
  std::vector<int64_t> tokens{start_token_};
  const std::vector<int64_t> ids = encode(text);
  tokens.insert(tokens.end(), ids.begin(), ids.end());
  tokens.push_back(end_token_);
  const auto limit = static_cast<size_t>(context_length);
  if (tokens.size() > limit) {
    if (!truncate) {
      throw TokenizerError("Input \"" + text + "\" is too long for context length " +
                           std::to_string(context_length) + " (" + std::to_string(tokens.size()) +
                           " tokens with start and end)");
    }
    tokens.resize(limit);
    tokens.back() = end_token_;
  }
  tokens.resize(limit, 0);
  return tokens;
}

// ---------------------------------------------------------------- free functions

std::string clean_text(const std::string& utf8_text) { return to_utf8(clean_utf32(utf8_text)); }

std::vector<std::string> split_words(const std::string& cleaned_utf8) {
  std::vector<std::string> words;
  for (const std::u32string& word : split_utf32(to_utf32(cleaned_utf8))) {
    words.push_back(to_utf8(word));
  }
  return words;
}

std::string html_unescape(const std::string& utf8_text) {
  return to_utf8(unescape_once(to_utf32(utf8_text)));
}

}  // namespace tagclip
