// The reference's 85 templates, template files and str.format-style filling.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tagclip/errors.h"
#include "tagclip/model/prompt_templates.h"
#include "test_support.h"

namespace tagclip {
namespace {

std::string write_file(const std::string& name, const std::string& content) {
  const std::string path = testing::make_scratch_dir("prompt-templates") + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Expects load_prompt_templates(content) to fail with a message naming file:line.
void expect_bad_line(const std::string& content, int line, const std::string& why) {
  const std::string path = write_file("bad.txt", content);
  try {
    load_prompt_templates(path);
    ADD_FAILURE() << why << ": accepted";
  } catch (const VocabularyError& error) {
    const std::string where = path + ":" + std::to_string(line) + ":";
    EXPECT_NE(std::string(error.what()).find(where), std::string::npos)
        << why << ": " << error.what();
  }
}

TEST(PromptTemplatesTest, ReferenceHas85TemplatesInOrder) {
  const std::vector<std::string>& templates = reference_prompt_templates();
  ASSERT_EQ(templates.size(), 85u);
  EXPECT_EQ(templates.front(), "a bad photo of a {}.");
  EXPECT_EQ(templates[39], "a photo of a {}.");
  EXPECT_EQ(templates.back(), "this is one {} in the scene.");
  for (const std::string& t : templates) EXPECT_NE(t.find("{}"), std::string::npos) << t;
}

TEST(PromptTemplatesTest, FillReplacesTheFieldLikeStrFormat) {
  EXPECT_EQ(fill_template("a photo of a {}.", "traffic light"), "a photo of a traffic light.");
  EXPECT_EQ(fill_template("{} in a {{box}}", "cat"), "cat in a {box}");
  EXPECT_EQ(fill_template("no field", "cat"), "no field");  // format ignores unused arguments
  EXPECT_EQ(fill_template("a {}", "{}"), "a {}");           // the value is not re-expanded
  EXPECT_THROW(fill_template("{} and {}", "cat"), VocabularyError);
  EXPECT_THROW(fill_template("a {0}", "cat"), VocabularyError);
  EXPECT_THROW(fill_template("a {name}", "cat"), VocabularyError);
  EXPECT_THROW(fill_template("a } {}", "cat"), VocabularyError);
}

TEST(PromptTemplatesTest, LoadsTemplatesSkippingBlankAndCommentLines) {
  const std::string path =
      write_file("ok.txt",
                 "\xEF\xBB\xBF# my templates\n\na photo of a {}.\r\n   \n#{} is a comment\n"
                 "un caf\xC3\xA9 avec {}\n{{literal}} {}");
  EXPECT_EQ(
      load_prompt_templates(path),
      (std::vector<std::string>{"a photo of a {}.", "un caf\xC3\xA9 avec {}", "{{literal}} {}"}));
}

TEST(PromptTemplatesTest, BadLinesNameFileAndLine) {
  expect_bad_line("a photo of a {}.\nno field here\n", 2, "no field");
  expect_bad_line("# c\n{} and {}\n", 2, "two fields");
  expect_bad_line("a {name}\n", 1, "named field");
  expect_bad_line("ok {}\n\nbad } {}\n", 3, "lone brace");
  expect_bad_line("a caf\xC3 {}\n", 1, "invalid UTF-8");
}

TEST(PromptTemplatesTest, MissingOrEmptyFileIsAnErrorNamingIt) {
  const std::string empty = write_file("empty.txt", "# only a comment\n\n");
  for (const std::string& path : {empty, empty + ".absent"}) {
    try {
      load_prompt_templates(path);
      ADD_FAILURE() << path << " was accepted";
    } catch (const VocabularyError& error) {
      EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace tagclip
