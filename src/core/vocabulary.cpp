#include "tagclip/core/vocabulary.h"

#include <unicode/utf8.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "tagclip/core/text_util.h"
#include "tagclip/core/vocabularies.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

bool is_valid_utf8(const std::string& text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return false;
  }
  return true;
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
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // BOM
    const std::string name = trim_whitespace(line);
    if (name.empty() || name[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(line_number) + ": ";
    if (!is_valid_utf8(name)) throw VocabularyError(where + "not valid UTF-8");
    if (name.size() > kMaxClassNameBytes)
      throw VocabularyError(where + "class name is " + std::to_string(name.size()) +
                            " bytes long (at most " + std::to_string(kMaxClassNameBytes) + ")");
    const auto [it, inserted] = first_line_of.emplace(name, line_number);
    if (!inserted)
      throw VocabularyError(where + "duplicate class '" + name + "' (first on line " +
                            std::to_string(it->second) + ")");
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
