// Class, background and prompt-template files: any bytes as a file given to --classes,
// --background and --templates.
#include "fuzz_input.h"
#include "tagclip/core/vocabulary.h"
#include "tagclip/model/prompt_templates.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tagclip::fuzz::write_input(data, size, ".txt");
  try {
    tagclip::Vocabulary vocabulary = tagclip::load_vocabulary(path);
    tagclip::set_background(vocabulary, path);
  } catch (const std::exception&) {
  }
  try {
    for (const std::string& pattern : tagclip::load_prompt_templates(path))
      tagclip::fill_template(pattern, "dog");
  } catch (const std::exception&) {
  }
  return 0;
}
