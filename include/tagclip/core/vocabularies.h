// The class lists TagCLIP was evaluated with, exactly as the authors' clip_text.py and
// classify.py spell and order them (motorbike, aeroplane, diningtable, ...): the ids a
// user's labels map to, and the texts the prompts are built from, depend on it.
#pragma once

#include <string>
#include <vector>

namespace tagclip {

struct BuiltinVocabulary {
  std::string name;                     // "voc", "coco" or "cocostuff"
  std::vector<std::string> classes;     // the labels, in output-index order
  std::vector<std::string> background;  // extra words scored but never reported
};

// The built-in vocabulary called `name`, or nullptr when there is none.
const BuiltinVocabulary* find_builtin_vocabulary(const std::string& name);

// Like find_builtin_vocabulary, but an unknown name is a VocabularyError listing the
// known ones.
const BuiltinVocabulary& builtin_vocabulary(const std::string& name);

// "voc", "coco", "cocostuff".
std::vector<std::string> builtin_vocabulary_names();

}  // namespace tagclip
