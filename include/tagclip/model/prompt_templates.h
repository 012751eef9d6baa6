// Prompt templates: the text around a class name ("a photo of a {}.") whose embeddings
// are averaged into one class embedding (the reference's prompt ensemble).
#pragma once

#include <string>
#include <vector>

namespace tagclip {

// The 85 templates of the reference's encode_text_with_prompt_ensemble, in its order.
const std::vector<std::string>& reference_prompt_templates();

// Reads a UTF-8 file with one template per line; blank lines and lines whose first
// character is '#' are skipped, a trailing '\r' is dropped. Each template needs exactly
// one "{}" ("{{" and "}}" are literal braces, as in Python). Throws VocabularyError
// "path:line: problem" for a bad line, and naming the file when it cannot be read or
// holds no template.
std::vector<std::string> load_prompt_templates(const std::string& path);

// template.format(class_name) in Python for a template with at most one "{}": the field
// is replaced, "{{"/"}}" become braces. Throws VocabularyError for a stray brace, a named
// or numbered field, or more than one field.
std::string fill_template(const std::string& tmpl, const std::string& class_name);

}  // namespace tagclip
