#include <gtest/gtest.h>

#include <fstream>

#include "tagclip/core/vocabulary.h"
#include "tagclip/errors.h"
#include "test_support.h"

namespace tagclip {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = testing::make_scratch_dir("vocabulary-" + name) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

void expect_error_mentioning(const std::string& path, const std::string& needle) {
  try {
    load_vocabulary(path);
    FAIL() << "no error for " << path;
  } catch (const VocabularyError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Vocabulary, BuiltinsKeepTheReferenceBackgroundLists) {
  Vocabulary voc = load_vocabulary("voc");
  set_background(voc, "default");
  EXPECT_EQ(voc.classes.size(), 20u);
  EXPECT_EQ(voc.background.size(), 25u);
  EXPECT_EQ(voc.all_names().size(), 45u);
  EXPECT_EQ(voc.all_names()[20], "ground");
  Vocabulary coco = load_vocabulary("coco");
  set_background(coco, "default");
  EXPECT_EQ(coco.background.size(), 23u);
  Vocabulary stuff = load_vocabulary("cocostuff");
  set_background(stuff, "default");
  EXPECT_TRUE(stuff.is_cocostuff);
  EXPECT_EQ(stuff.classes.size(), 171u);
  EXPECT_TRUE(stuff.background.empty());
}

TEST(Vocabulary, FileSkipsBlanksAndComments) {
  const std::string path =
      write_file("classes.txt", "# my classes\n\ntraffic light\n  teddy bear \r\ncat\n");
  const Vocabulary v = load_vocabulary(path);
  EXPECT_EQ(v.classes, (std::vector<std::string>{"traffic light", "teddy bear", "cat"}));
  EXPECT_FALSE(v.is_cocostuff);
}

TEST(Vocabulary, CustomGetsVocBackgroundMinusItsOwnWords) {
  Vocabulary v = load_vocabulary(write_file("own.txt", "dog\nSky\nroad\n"));
  set_background(v, "default");
  EXPECT_EQ(v.background.size(), 23u);
  for (const auto& word : v.background) {
    EXPECT_NE(word, "sky");
    EXPECT_NE(word, "road");
  }
  set_background(v, "none");
  EXPECT_TRUE(v.background.empty());
  set_background(v, "coco");
  EXPECT_EQ(v.background.size(), 21u);
  set_background(v, write_file("bg.txt", "floor\nceiling\n"));
  EXPECT_EQ(v.background, (std::vector<std::string>{"floor", "ceiling"}));
}

TEST(Vocabulary, DuplicateNamesBothLines) {
  expect_error_mentioning(write_file("dup.txt", "cat\ndog\n\ncat\n"),
                          "duplicate class 'cat' (first on line 1)");
  expect_error_mentioning(write_file("dup2.txt", "cat\ndog\n\ncat\n"), ":4:");
}

TEST(Vocabulary, NamesAlikeUpToCaseOrNormalisationAreDuplicates) {
  expect_error_mentioning(write_file("case.txt", "dog\ncat\nDog\n"),
                          ":3: class 'Dog' is 'dog' of line 1");
  // "café" composed (U+00E9) and decomposed (e + U+0301).
  expect_error_mentioning(write_file("nfc.txt", "caf\xc3\xa9\ncafe\xcc\x81\n"), ":2:");
  // Fullwidth "ｄｏｇ" is "dog" after NFKC.
  expect_error_mentioning(write_file("nfkc.txt", "dog\n\xef\xbd\x84\xef\xbd\x8f\xef\xbd\x87\n"),
                          "up to case or Unicode normalisation");
  // Distinct names stay distinct.
  EXPECT_EQ(
      load_vocabulary(write_file("fine.txt", "dog\nhot dog\ncaf\xc3\xa9\ncafe\n")).classes.size(),
      4u);
}

TEST(Vocabulary, ControlCharactersAndNulBytesAreRefusedWithTheirLine) {
  expect_error_mentioning(write_file("nul.txt", std::string("cat\ndo\0g\n", 9)),
                          ":2: holds a control character");
  // A UTF-16 file: every other byte is NUL.
  expect_error_mentioning(write_file("utf16.txt", std::string("c\0a\0t\0\n\0", 8)),
                          "holds a control character");
  expect_error_mentioning(write_file("esc.txt", "cat\ndog\x1b[0m\n"), ":2:");
}

TEST(Vocabulary, EmptyAndOverLongAndBadFiles) {
  expect_error_mentioning(write_file("empty.txt", "# nothing\n\n"), "holds no class names");
  expect_error_mentioning(write_file("long.txt", "cat\n" + std::string(300, 'a') + "\n"), ":2:");
  expect_error_mentioning(write_file("utf.txt", "caf\xe9\n"), "not valid UTF-8");
  expect_error_mentioning("/no/such/classes.txt", "cannot read");
}

}  // namespace
}  // namespace tagclip
