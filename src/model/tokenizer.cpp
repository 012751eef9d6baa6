// CLIP's BPE tokenizer. Every step mirrors simple_tokenizer.py; the comments say where
// Python's semantics are subtle enough that a plain reimplementation would drift.
#include "tagclip/model/tokenizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>
#include <zlib.h>

#include <algorithm>
#include <iterator>

#include "tagclip/core/text_util.h"
#include "tagclip/errors.h"
#include "tagclip/model/html_unescape.h"

namespace tagclip {
namespace {

// simple_tokenizer.py keeps lines 1..48894 after the header (its arithmetic, 49152 - 256 - 2),
// which with 512 byte symbols and 2 specials gives the 49408 rows of CLIP's token embedding.
constexpr int kMergeCount = 49152 - 256 - 2;

// ---------------------------------------------------------------- UTF conversions

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
  const std::u32string unescaped = strip_python(html_unescape(html_unescape(normalised)));

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
  return to_utf8(html_unescape(to_utf32(utf8_text)));
}

}  // namespace tagclip
