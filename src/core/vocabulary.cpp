#include "tagclip/core/vocabulary.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "tagclip/core/text_util.h"
#include "tagclip/core/vocabularies.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

// The name as CLIP's tokenizer sees it, near enough: case folded and NFKC-normalised, so
// "Dog" and "dog", or a composed and a decomposed "café", count as one class. (Two such
// classes get the same prompts, hence the same embedding and a tie for every image.)
std::string comparison_key(const std::string& name) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* fold = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status)) return name;
  const icu::UnicodeString folded = fold->normalize(icu::UnicodeString::fromUTF8(name), status);
  if (U_FAILURE(status)) return name;
  std::string key;
  folded.toUTF8String(key);
  return key;
}

// NUL and the other C0 controls (and DEL) are never part of a class name: a binary file, a
// UTF-16 file or a stray escape.
bool has_control_character(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\t') || byte == 0x7f;
  });
}

std::string lower_ascii(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::vector<std::string> Vocabulary::all_names() const {
  std::vector<std::string> names = classes;
  names.insert(names.end(), background.begin(), background.end());
  return names;
}

std::vector<std::string> read_name_list(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw VocabularyError(path + ": cannot read the class list");
  std::vector<std::string> names;
  std::map<std::string, int> first_line_of;
  std::map<std::string, std::pair<std::string, int>> first_of_key;  // key -> name, line
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // BOM
    const std::string name = trim_whitespace(line);
    if (name.empty() || name[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    if (!is_valid_utf8(name)) throw VocabularyError(where + "not valid UTF-8");
    if (has_control_character(name))
      throw VocabularyError(where +
                            "holds a control character (a NUL byte? the file may be UTF-16 "
                            "or binary; class files are UTF-8 text)");
    if (name.size() > kMaxClassNameBytes)
      throw VocabularyError(where + "class name is " + std::to_string(name.size()) +
                            " bytes long (at most " + std::to_string(kMaxClassNameBytes) + ")");
    const auto [it, inserted] = first_line_of.emplace(name, line_number);
    if (!inserted)
      throw VocabularyError(where + "duplicate class '" + name + "' (first on line " +
                            std::to_string(it->second) + ")");
    const auto [alike, new_key] =
        first_of_key.emplace(comparison_key(name), std::make_pair(name, line_number));
    if (!new_key)
      throw VocabularyError(where + "class '" + name + "' is '" + alike->second.first +
                            "' of line " + std::to_string(alike->second.second) +
                            " up to case or Unicode normalisation; CLIP's tokenizer reads them "
                            "alike");
    names.push_back(name);
  }
  if (names.empty()) throw VocabularyError(path + ": holds no class names");
  return names;
}

Vocabulary load_vocabulary(const std::string& spec) {
  Vocabulary vocabulary;
  vocabulary.name = spec;
  if (const BuiltinVocabulary* builtin = find_builtin_vocabulary(spec)) {
    vocabulary.classes = builtin->classes;
    vocabulary.background = builtin->background;
    vocabulary.is_cocostuff = spec == "cocostuff";
    return vocabulary;
  }
  vocabulary.classes = read_name_list(spec);
  return vocabulary;
}

void set_background(Vocabulary& vocabulary, const std::string& spec) {
  std::vector<std::string> words;
  if (spec == "none") {
    vocabulary.background.clear();
    return;
  }
  if (spec == "default") {
    if (find_builtin_vocabulary(vocabulary.name) != nullptr) {
      vocabulary.background = builtin_vocabulary(vocabulary.name).background;
      return;
    }
    words = builtin_vocabulary("voc").background;
  } else if (spec == "voc" || spec == "coco") {
    words = builtin_vocabulary(spec).background;
  } else {
    words = read_name_list(spec);
  }
  // A background word that is also a class would compete with itself in the softmax.
  std::vector<std::string> class_keys;
  for (const std::string& name : vocabulary.classes) class_keys.push_back(lower_ascii(name));
  vocabulary.background.clear();
  for (const std::string& word : words)
    if (std::find(class_keys.begin(), class_keys.end(), lower_ascii(word)) == class_keys.end())
      vocabulary.background.push_back(word);
}

}  // namespace tagclip
