// The classes a run tags with: foreground classes (reported) followed by background words
// (scored in every softmax, never reported), and the thresholds that go with them.
#pragma once

#include <string>
#include <vector>

namespace tagclip {

struct Vocabulary {
  std::string name;                     // "voc", "coco", "cocostuff" or the class file's path
  std::vector<std::string> classes;     // foreground, in output-index order
  std::vector<std::string> background;  // appended after the classes for scoring
  bool is_cocostuff = false;            // the reference's COCO-Stuff settings apply

  // classes then background: the rows of the text-embedding matrix.
  std::vector<std::string> all_names() const;
};

// Longest class name accepted from a file, in bytes (prompts must fit CLIP's 77 tokens).
constexpr size_t kMaxClassNameBytes = 200;

// `spec`: a built-in name (voc, coco, cocostuff) or a UTF-8 file with one class per line
// (blank lines and lines starting with '#' ignored, surrounding spaces trimmed).
// Throws VocabularyError naming the file and line for an unreadable file, an empty file, a
// duplicate class (both line numbers), an over-long class or invalid UTF-8.
Vocabulary load_vocabulary(const std::string& spec);

// `spec`: "default" (voc/coco keep their own lists as the reference; cocostuff none; a
// custom vocabulary gets the VOC words minus any word the vocabulary itself contains),
// "voc", "coco", "none", or a file in the class-file format. Sets vocabulary.background.
void set_background(Vocabulary& vocabulary, const std::string& spec);

// Reads a list file as load_vocabulary does (shared by classes and background words).
std::vector<std::string> read_name_list(const std::string& path);

}  // namespace tagclip
