// The built-in class lists against the reference's clip_text.py / classify.py (as recorded
// in tests/data/tokenizer_golden.json by scripts/golden/make_tokenizer_golden.py).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tagclip/core/vocabularies.h"
#include "tagclip/errors.h"
#include "test_support.h"

namespace tagclip {
namespace {

nlohmann::json reference_vocabularies() {
  std::ifstream in(testing::data_path("tokenizer_golden.json"));
  if (!in) throw std::runtime_error("tests/data/tokenizer_golden.json is missing");
  return nlohmann::json::parse(in).at("vocabularies");
}

TEST(BuiltinVocabularyTest, NamesAreVocCocoCocostuff) {
  EXPECT_EQ(builtin_vocabulary_names(), (std::vector<std::string>{"voc", "coco", "cocostuff"}));
}

TEST(BuiltinVocabularyTest, SizesMatchThePaper) {
  const BuiltinVocabulary& voc = builtin_vocabulary("voc");
  const BuiltinVocabulary& coco = builtin_vocabulary("coco");
  const BuiltinVocabulary& stuff = builtin_vocabulary("cocostuff");
  EXPECT_EQ(voc.classes.size(), 20u);
  EXPECT_EQ(voc.background.size(), 25u);
  EXPECT_EQ(coco.classes.size(), 80u);
  EXPECT_EQ(coco.background.size(), 23u);
  EXPECT_EQ(stuff.classes.size(), 171u);
  EXPECT_TRUE(stuff.background.empty());
}

TEST(BuiltinVocabularyTest, SpotNamesKeepTheReferenceSpelling) {
  const BuiltinVocabulary& voc = builtin_vocabulary("voc");
  EXPECT_EQ(voc.classes.front(), "aeroplane");
  EXPECT_EQ(voc.classes[10], "diningtable");
  EXPECT_EQ(voc.classes.back(), "tvmonitor");
  EXPECT_EQ(voc.background.back(), "sign");
  const BuiltinVocabulary& coco = builtin_vocabulary("coco");
  EXPECT_EQ(coco.classes[3], "motorbike");
  EXPECT_EQ(coco.classes[57], "sofa");
  EXPECT_EQ(coco.classes[58], "pottedplant");
  EXPECT_EQ(coco.classes.back(), "toothbrush");
  const BuiltinVocabulary& stuff = builtin_vocabulary("cocostuff");
  EXPECT_EQ(stuff.classes.front(), "person");  // "unlabeled" (key 0) is skipped
  EXPECT_EQ(stuff.classes[3], "motorcycle");
  EXPECT_EQ(stuff.classes[79], "toothbrush");
  EXPECT_EQ(stuff.classes[80], "banner");
  EXPECT_EQ(stuff.classes.back(), "wood");
}

TEST(BuiltinVocabularyTest, ListsEqualTheReferenceLists) {
  const nlohmann::json reference = reference_vocabularies();
  for (const std::string& name : builtin_vocabulary_names()) {
    SCOPED_TRACE(name);
    const BuiltinVocabulary* vocabulary = find_builtin_vocabulary(name);
    ASSERT_NE(vocabulary, nullptr);
    EXPECT_EQ(vocabulary->name, name);
    EXPECT_EQ(vocabulary->classes,
              reference.at(name).at("classes").get<std::vector<std::string>>());
    EXPECT_EQ(vocabulary->background,
              reference.at(name).at("background").get<std::vector<std::string>>());
  }
}

TEST(BuiltinVocabularyTest, UnknownNameIsNullOrAnErrorListingTheKnownOnes) {
  EXPECT_EQ(find_builtin_vocabulary("imagenet"), nullptr);
  try {
    builtin_vocabulary("imagenet");
    FAIL() << "an unknown vocabulary was accepted";
  } catch (const VocabularyError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("imagenet"), std::string::npos) << message;
    EXPECT_NE(message.find("cocostuff"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace tagclip
