// CLIP-ES's prompt names are TagCLIP's class lists (core/vocabularies.h, the same names as
// CLIP-ES's class_names / class_names_coco / the 182-id dictionary of TagCLIP) with the
// renames of CLIP-ES's clip_text.py applied; tests/test_clip_es_cams.cpp checks the result
// against the lists the authors' scripts build.
#include "tagclip/core/clip_es_vocabularies.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "tagclip/core/text_util.h"
#include "tagclip/core/vocabularies.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

// new_class_names: TagCLIP's VOC name -> CLIP-ES's prompt name.
const std::map<std::string, std::string> kVocRenames = {
    {"bird", "bird avian"},
    {"chair", "chair seat"},
    {"person", "person with clothes,people,human"},
    {"tvmonitor", "tvmonitor screen"}};

// new_class_names_coco.
const std::map<std::string, std::string> kCocoRenames = {
    {"person", "person with clothes,people,human"},
    {"bird", "bird avian"},
    {"backpack", "backpack,bag"},
    {"umbrella", "umbrella,parasol"},
    {"handbag", "handbag,purse"},
    {"tie", "necktie"},
    {"snowboard", "sknowboard"},  // sic, as the reference spells it
    {"baseball glove", "glove"},
    {"spoon", "dessertspoon"},
    {"chair", "chair seat"},
    {"tvmonitor", "tvmonitor screen"},
    {"remote", "remote control"},
    {"hair drier", "hairdrier,blowdrier"}};

// CLIP-ES's class_names_coco_stuff182_dict against TagCLIP's (the stuff names agree).
const std::map<std::string, std::string> kCocoStuffRenames = {
    {"person", "person with clothes,people,human"},
    {"airplane", "aeroplane"},
    {"bird", "bird avian"},
    {"backpack", "backpack,bag"},
    {"umbrella", "umbrella,parasol"},
    {"handbag", "handbag,purse"},
    {"tie", "necktie"},
    {"baseball glove", "glove"},
    {"spoon", "dessertspoon"},
    {"chair", "chair seat"},
    {"tv", "tvmonitor screen"},
    {"remote", "remote control"},
    {"hair drier", "hairdrier,blowdrier"}};

std::vector<std::string> renamed(const std::vector<std::string>& names,
                                 const std::map<std::string, std::string>& renames) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    const auto found = renames.find(name);
    out.push_back(found == renames.end() ? name : found->second);
  }
  return out;
}

std::string folded(const std::string& text) {
  std::string out = trim_whitespace(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

ClipEsVocabulary clip_es_vocabulary(std::string_view dataset) {
  ClipEsVocabulary vocabulary;
  if (dataset == "voc") {
    const BuiltinVocabulary& voc = builtin_vocabulary("voc");
    vocabulary.class_prompts = renamed(voc.classes, kVocRenames);
    vocabulary.background_words = voc.background;
    vocabulary.refinement_excludes_last_block = true;
    vocabulary.box_threshold = 0.4;
  } else if (dataset == "coco") {
    const BuiltinVocabulary& coco = builtin_vocabulary("coco");
    vocabulary.class_prompts = renamed(coco.classes, kCocoRenames);
    vocabulary.background_words = coco.background;
    vocabulary.box_threshold = 0.7;
  } else if (dataset == "cocostuff") {
    vocabulary.class_prompts = renamed(builtin_vocabulary("cocostuff").classes, kCocoStuffRenames);
    vocabulary.background_words = {"background"};
    vocabulary.box_threshold = 0.7;
  } else {
    throw VocabularyError("no CLIP-ES vocabulary called '" + std::string(dataset) +
                          "' (known: voc, coco, cocostuff)");
  }
  return vocabulary;
}

ClipEsVocabulary clip_es_vocabulary_for_classes(const std::vector<std::string>& names) {
  ClipEsVocabulary vocabulary;
  vocabulary.class_prompts = names;
  std::vector<std::string> classes;
  for (const std::string& name : names) classes.push_back(folded(name));
  for (const std::string& word : builtin_vocabulary("coco").background)
    if (std::find(classes.begin(), classes.end(), folded(word)) == classes.end())
      vocabulary.background_words.push_back(word);
  vocabulary.box_threshold = 0.4;
  return vocabulary;
}

std::vector<std::string> clip_es_vocabulary_names() { return {"voc", "coco", "cocostuff"}; }

}  // namespace tagclip
