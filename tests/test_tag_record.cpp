// The record type's JSON form: what to_json writes, tag_record_from_json reads back, and the
// errors that name what a value lacks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tagclip/core/tag_record.h"

namespace tagclip {
namespace {

TagRecord tagged_record() {
  TagRecord record;
  record.image = "photos/dog.jpg";
  record.width = 500;
  record.height = 375;
  record.tags = {{"dog", 1, 0.41}, {"person", 2, 0.23}};
  record.scores = {{"cat", 0.01}, {"dog", 0.41}, {"person", 0.23}};
  return record;
}

TEST(TagRecord, JsonRoundTripsInTheOutputLayout) {
  const TagRecord record = tagged_record();
  const nlohmann::ordered_json json = to_json(record);
  EXPECT_EQ(json.dump(),
            "{\"image\":\"photos/dog.jpg\",\"width\":500,\"height\":375,\"tags\":[{\"label\":"
            "\"dog\",\"index\":1,\"score\":0.41},{\"label\":\"person\",\"index\":2,\"score\":0.23}"
            "],\"scores\":{\"cat\":0.01,\"dog\":0.41,\"person\":0.23}}");
  const TagRecord back = tag_record_from_json(json);
  EXPECT_EQ(to_json(back), json);
  EXPECT_EQ(back.tag_indices(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(back.arg_max(), 1);
  EXPECT_TRUE(back.tagged());
}

TEST(TagRecord, SplitLabelsAreTheTagsAscendingOrTheBestClass) {
  TagRecord record = tagged_record();  // tags dog (1) then person (2)
  std::swap(record.tags[0], record.tags[1]);
  EXPECT_EQ(record.tag_indices(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(record.split_labels(), (std::vector<int64_t>{1, 2}));
  record.tags.clear();
  EXPECT_EQ(record.split_labels(), (std::vector<int64_t>{1}));  // dog, the highest score
  record.error = "cannot decode";
  EXPECT_TRUE(record.split_labels().empty());
}

TEST(TagRecord, ErrorRecordsHoldImageAndErrorOnly) {
  TagRecord failed;
  failed.image = "broken.jpg";
  failed.error = "file is empty (0 bytes)";
  EXPECT_EQ(to_json(failed).dump(),
            "{\"image\":\"broken.jpg\",\"error\":\"file is empty (0 bytes)\"}");
  const TagRecord back = tag_record_from_json(to_json(failed));
  EXPECT_FALSE(back.tagged());
  EXPECT_EQ(back.error, failed.error);
  EXPECT_FALSE(back.arg_max().has_value());
}

TEST(TagRecord, ArgMaxTakesTheFirstOfEqualScores) {
  TagRecord record = tagged_record();
  record.scores = {{"a", 0.2}, {"b", 0.7}, {"c", 0.7}};
  EXPECT_EQ(record.arg_max(), 1);
}

TEST(TagRecord, MalformedValuesNameWhatIsMissing) {
  auto problem = [](const std::string& text) {
    try {
      tag_record_from_json(nlohmann::ordered_json::parse(text));
    } catch (const RecordError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(problem("[1, 2]"), "no \"image\" string");
  EXPECT_EQ(problem("{\"image\": 3}"), "no \"image\" string");
  EXPECT_EQ(problem("{\"image\": \"a.jpg\"}"), "no \"scores\" object (not `tagclip tag` output?)");
  EXPECT_EQ(problem("{\"image\": \"a.jpg\", \"scores\": {\"cat\": null}}"),
            "the score of 'cat' is not a number");
  EXPECT_EQ(problem("{\"image\": \"a.jpg\", \"scores\": {}, \"tags\": [{\"index\": 1}]}"),
            "a tag without a string \"label\", an integer \"index\" and a score");
}

// JSON has no NaN: a NaN score is written as null and refused on the way back in.
TEST(TagRecord, NanScoresDoNotComeBackAsNumbers) {
  TagRecord record = tagged_record();
  record.scores[0].second = std::numeric_limits<double>::quiet_NaN();
  const nlohmann::ordered_json json = nlohmann::ordered_json::parse(to_json(record).dump());
  EXPECT_TRUE(json["scores"]["cat"].is_null());
  EXPECT_THROW(tag_record_from_json(json), RecordError);
}

}  // namespace
}  // namespace tagclip
