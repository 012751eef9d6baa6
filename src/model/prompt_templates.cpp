// The reference's prompt templates, and template files in the same format.
#include "tagclip/model/prompt_templates.h"

#include <fstream>
#include <sstream>

#include "tagclip/core/text_util.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

// Walks `tmpl` as str.format would with one positional argument; returns the number of
// "{}" fields and, when `out` is given, the filled text. `problem` is set on bad syntax.
int expand_fields(const std::string& tmpl, const std::string& value, std::string* out,
                  std::string& problem) {
  int fields = 0;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    const bool doubled = i + 1 < tmpl.size() && tmpl[i + 1] == c;
    if ((c == '{' || c == '}') && doubled) {
      if (out) *out += c;
      ++i;
    } else if (c == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '}') {
      if (out) *out += value;
      ++fields;
      ++i;
    } else if (c == '{' || c == '}') {
      problem = std::string("a lone '") + c + "' (only \"{}\" is a field; write \"" + c + c +
                "\" for a brace)";
      return fields;
    } else if (out) {
      *out += c;
    }
  }
  return fields;
}

}  // namespace

const std::vector<std::string>& reference_prompt_templates() {
  static const std::vector<std::string> templates = {"a bad photo of a {}.",
                                                     "a photo of many {}.",
                                                     "a sculpture of a {}.",
                                                     "a photo of the hard to see {}.",
                                                     "a low resolution photo of the {}.",
                                                     "a rendering of a {}.",
                                                     "graffiti of a {}.",
                                                     "a bad photo of the {}.",
                                                     "a cropped photo of the {}.",
                                                     "a tattoo of a {}.",
                                                     "the embroidered {}.",
                                                     "a photo of a hard to see {}.",
                                                     "a bright photo of a {}.",
                                                     "a photo of a clean {}.",
                                                     "a photo of a dirty {}.",
                                                     "a dark photo of the {}.",
                                                     "a drawing of a {}.",
                                                     "a photo of my {}.",
                                                     "the plastic {}.",
                                                     "a photo of the cool {}.",
                                                     "a close-up photo of a {}.",
                                                     "a black and white photo of the {}.",
                                                     "a painting of the {}.",
                                                     "a painting of a {}.",
                                                     "a pixelated photo of the {}.",
                                                     "a sculpture of the {}.",
                                                     "a bright photo of the {}.",
                                                     "a cropped photo of a {}.",
                                                     "a plastic {}.",
                                                     "a photo of the dirty {}.",
                                                     "a jpeg corrupted photo of a {}.",
                                                     "a blurry photo of the {}.",
                                                     "a photo of the {}.",
                                                     "a good photo of the {}.",
                                                     "a rendering of the {}.",
                                                     "a {} in a video game.",
                                                     "a photo of one {}.",
                                                     "a doodle of a {}.",
                                                     "a close-up photo of the {}.",
                                                     "a photo of a {}.",
                                                     "the origami {}.",
                                                     "the {} in a video game.",
                                                     "a sketch of a {}.",
                                                     "a doodle of the {}.",
                                                     "a origami {}.",
                                                     "a low resolution photo of a {}.",
                                                     "the toy {}.",
                                                     "a rendition of the {}.",
                                                     "a photo of the clean {}.",
                                                     "a photo of a large {}.",
                                                     "a rendition of a {}.",
                                                     "a photo of a nice {}.",
                                                     "a photo of a weird {}.",
                                                     "a blurry photo of a {}.",
                                                     "a cartoon {}.",
                                                     "art of a {}.",
                                                     "a sketch of the {}.",
                                                     "a embroidered {}.",
                                                     "a pixelated photo of a {}.",
                                                     "itap of the {}.",
                                                     "a jpeg corrupted photo of the {}.",
                                                     "a good photo of a {}.",
                                                     "a plushie {}.",
                                                     "a photo of the nice {}.",
                                                     "a photo of the small {}.",
                                                     "a photo of the weird {}.",
                                                     "the cartoon {}.",
                                                     "art of the {}.",
                                                     "a drawing of the {}.",
                                                     "a photo of the large {}.",
                                                     "a black and white photo of a {}.",
                                                     "the plushie {}.",
                                                     "a dark photo of a {}.",
                                                     "itap of a {}.",
                                                     "graffiti of the {}.",
                                                     "a toy {}.",
                                                     "itap of my {}.",
                                                     "a photo of a cool {}.",
                                                     "a photo of a small {}.",
                                                     "a tattoo of the {}.",
                                                     "there is a {} in the scene.",
                                                     "there is the {} in the scene.",
                                                     "this is a {} in the scene.",
                                                     "this is the {} in the scene.",
                                                     "this is one {} in the scene."};
  return templates;
}

std::vector<std::string> load_prompt_templates(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw VocabularyError(path + ": cannot open the prompt template file");
  std::vector<std::string> templates;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    if (!is_valid_utf8(line)) throw VocabularyError(where + "not valid UTF-8");
    std::string problem;
    const int fields = expand_fields(line, "", nullptr, problem);
    if (!problem.empty()) throw VocabularyError(where + problem + " in \"" + line + "\"");
    if (fields != 1) {
      throw VocabularyError(where + "a template needs exactly one \"{}\", found " +
                            std::to_string(fields) + " in \"" + line + "\"");
    }
    templates.push_back(line);
  }
  if (file.bad()) throw VocabularyError(path + ": read error");
  if (templates.empty()) throw VocabularyError(path + ": no prompt template in the file");
  return templates;
}

std::string fill_template(const std::string& tmpl, const std::string& class_name) {
  std::string filled;
  std::string problem;
  const int fields = expand_fields(tmpl, class_name, &filled, problem);
  if (!problem.empty()) throw VocabularyError("prompt template \"" + tmpl + "\": " + problem);
  if (fields > 1) {
    throw VocabularyError("prompt template \"" + tmpl + "\" has " + std::to_string(fields) +
                          " \"{}\" fields; one class name fills only one");
  }
  return filled;
}

}  // namespace tagclip
