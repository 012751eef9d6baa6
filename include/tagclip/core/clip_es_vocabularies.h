// The prompts and settings CLIP-ES uses to turn a label into a class activation map, per
// dataset as the authors' generate_cams_{voc,coco,cocostuff}.py and clip_text.py have them.
// They differ from TagCLIP's tagging prompts (core/vocabularies.h): several classes are
// renamed or given synonyms ("bird avian", "person with clothes,people,human"), the
// background words differ for COCO-Stuff, and one template is used.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tagclip {

struct ClipEsVocabulary {
  // One prompt name per class, in the dataset's class-index order.
  std::vector<std::string> class_prompts;
  // Extra text rows every image's softmax competes with (never a label).
  std::vector<std::string> background_words;
  // "{}" is replaced by the name.
  std::string prompt_template = "a clean origami {}.";
  // The attention maps averaged for the affinity are the list slice [-from_end:] of
  // (encoder blocks' maps + the rerun last block's), or [-from_end:-1] when
  // refinement_excludes_last_block (VOC in this copy of CLIP-ES).
  int refinement_blocks_from_end = 8;
  bool refinement_excludes_last_block = false;
  // Boxes of the affinity mask surround CAM regions above this fraction of the maximum.
  double box_threshold = 0.4;
};

// "voc", "coco" or "cocostuff": the settings the authors' scripts use.
//   voc: the 20 VOC classes with bird, chair, person and tvmonitor renamed; the 25 VOC
//        background words; blocks [-8:-1]; box threshold 0.4.
//   coco: the 80 classes with 13 renamed (incl. the reference's "sknowboard"); the 23 COCO
//        background words; blocks [-8:]; threshold 0.7.
//   cocostuff: the 171 classes of the 182-id dictionary with the things renamed as COCO
//        (but "snowboard" spelt right); background "background"; blocks [-8:]; threshold 0.7.
// Throws VocabularyError for another name.
ClipEsVocabulary clip_es_vocabulary(std::string_view dataset);

// Defaults for a user's class list, which CLIP-ES never ran on:
//   - the names as given, with the same template;
//   - COCO's 23 background words (VOC's 25 minus "keyboard" and "sign", which are objects a
//     custom list may well want), minus any word that is also one of the classes (compared
//     case-insensitively, spaces trimmed): a class must not compete with its own prompt;
//   - blocks [-8:], as upstream CLIP-ES on every dataset;
//   - box threshold 0.4, upstream CLIP-ES's and this copy's VOC value (0.7 is tuned for
//     COCO's many small objects).
ClipEsVocabulary clip_es_vocabulary_for_classes(const std::vector<std::string>& names);

// The names clip_es_vocabulary accepts: "voc", "coco", "cocostuff".
std::vector<std::string> clip_es_vocabulary_names();

}  // namespace tagclip
