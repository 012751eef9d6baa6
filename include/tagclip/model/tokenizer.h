// CLIP's byte-level BPE tokenizer (OpenAI's simple_tokenizer.py), reproduced id for id.
//
// Text goes through the reference's steps in order:
//   clean_text:  ftfy.fix_text (here: NFC), html.unescape twice, strip,
//                collapse whitespace runs to ' ', strip, lower()
//   split_words: the pre-tokenizing regex ('s|'t|...|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+)
//   BPE:         each word's UTF-8 bytes, mapped through bytes_to_unicode, merged by rank
//
// Known limits against the reference (see the .cpp for details): ftfy is modelled by NFC
// only (no mojibake repair, quote uncurling, ligature or width folding), and html.unescape
// knows the HTML 4 named references (+ &apos; and HTML5's AMP/LT/GT/QUOT/COPY/REG), not
// all 2231 HTML5 names; other names stay as text. Numeric references follow HTML5 exactly.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tagclip {

class ClipTokenizer {
 public:
  static constexpr int kDefaultContextLength = 77;

  // Reads bpe_simple_vocab_16e6.txt.gz. Throws TokenizerError naming `bpe_path` when the
  // file is missing, not gzip, not UTF-8 or has fewer than 48894 merge lines.
  explicit ClipTokenizer(const std::string& bpe_path);

  // BPE ids of `utf8_text` without start/end tokens. Throws TokenizerError when the text
  // is not valid UTF-8. Thread-safe: there is no word cache to share.
  std::vector<int64_t> encode(const std::string& utf8_text) const;

  // start + encode(text) + end, zero-padded to `context_length` entries. A longer prompt
  // is a TokenizerError quoting it, or with `truncate` is cut to `context_length` with the
  // last entry set to end_token(), as clip.tokenize does.
  std::vector<int64_t> tokenize(const std::string& text, int context_length = kDefaultContextLength,
                                bool truncate = false) const;

  int64_t start_token() const { return start_token_; }
  int64_t end_token() const { return end_token_; }
  // Rows of the token embedding: 256 bytes, 256 bytes+'</w>', the merges, 2 specials.
  int64_t vocab_size() const { return vocab_size_; }
  const std::string& bpe_path() const { return bpe_path_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };

  // Appends the ids of one pre-tokenized word (UTF-8) to `ids`.
  void encode_word(const std::string& word, std::vector<int64_t>& ids) const;

  std::string bpe_path_;
  int64_t start_token_ = 0;
  int64_t end_token_ = 0;
  int64_t vocab_size_ = 0;
  // Vocabulary id of byte b, and of byte b ending a word (b + '</w>').
  int32_t byte_id_[256] = {};
  int32_t byte_end_id_[256] = {};
  // (left id << 32 | right id) -> merge rank and the id of the merged symbol.
  std::unordered_map<uint64_t, Merge> merges_;
};

// clip's basic_clean + whitespace_clean + lower(), on UTF-8. Throws TokenizerError when
// `utf8_text` is not valid UTF-8.
std::string clean_text(const std::string& utf8_text);

// The pre-tokenizing regex of simple_tokenizer.py (with IGNORECASE) applied to cleaned
// text: the words BPE sees, in order.
std::vector<std::string> split_words(const std::string& cleaned_utf8);

// Python's html.unescape (HTML5 rules), limited to the named references listed above.
std::string html_unescape(const std::string& utf8_text);

}  // namespace tagclip
