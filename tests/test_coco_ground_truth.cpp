// COCO instances-file ground truth on tiny instances files written by the tests.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "expect_throw.h"
#include "tagclip/core/vocabularies.h"
#include "tagclip/eval/coco_ground_truth.h"
#include "test_support.h"

namespace tagclip {
namespace {

// COCO's own 80 names in category-id order (ids 1..90 without the 10 unused ones).
const char* const kCocoNames[] = {"person",        "bicycle",      "car",
                                  "motorcycle",    "airplane",     "bus",
                                  "train",         "truck",        "boat",
                                  "traffic light", "fire hydrant", "stop sign",
                                  "parking meter", "bench",        "bird",
                                  "cat",           "dog",          "horse",
                                  "sheep",         "cow",          "elephant",
                                  "bear",          "zebra",        "giraffe",
                                  "backpack",      "umbrella",     "handbag",
                                  "tie",           "suitcase",     "frisbee",
                                  "skis",          "snowboard",    "sports ball",
                                  "kite",          "baseball bat", "baseball glove",
                                  "skateboard",    "surfboard",    "tennis racket",
                                  "bottle",        "wine glass",   "cup",
                                  "fork",          "knife",        "spoon",
                                  "bowl",          "banana",       "apple",
                                  "sandwich",      "orange",       "broccoli",
                                  "carrot",        "hot dog",      "pizza",
                                  "donut",         "cake",         "chair",
                                  "couch",         "potted plant", "bed",
                                  "dining table",  "toilet",       "tv",
                                  "laptop",        "mouse",        "remote",
                                  "keyboard",      "cell phone",   "microwave",
                                  "oven",          "toaster",      "sink",
                                  "refrigerator",  "book",         "clock",
                                  "vase",          "scissors",     "teddy bear",
                                  "hair drier",    "toothbrush"};

nlohmann::json coco_categories() {
  const int unused[] = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83};
  nlohmann::json categories = nlohmann::json::array();
  int id = 0;
  for (const char* name : kCocoNames) {
    do ++id;
    while (std::find(std::begin(unused), std::end(unused), id) != std::end(unused));
    categories.push_back({{"supercategory", "x"}, {"id", id}, {"name", name}});
  }
  return categories;
}

nlohmann::json annotation(int image_id, int category_id, bool crowd = false) {
  nlohmann::json segmentation = nlohmann::json::array({{10.5, 11.0, 30.25, 11.0, 30.0, 40.0}});
  if (crowd) segmentation = {{"counts", {3, 4, 5}}, {"size", {480, 640}}};
  return {{"segmentation", segmentation}, {"area", 1234.5},       {"iscrowd", crowd ? 1 : 0},
          {"image_id", image_id},         {"bbox", {1, 2, 3, 4}}, {"category_id", category_id},
          {"id", 900000 + image_id}};
}

class CocoGroundTruth : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_scratch_dir(
        std::string("coco-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    path_ = dir_ + "/instances_val2014.json";
  }

  // Three images: 42 (cat, two persons), 73 (motorcycle, crowd tv), 74 (nothing).
  nlohmann::json standard_file() {
    nlohmann::json file = {{"info", {{"year", 2014}, {"nested", {{"images", 1}}}}},
                           {"licenses", {{{"id", 1}, {"name", "x"}}}}};
    file["annotations"] = {annotation(42, 17), annotation(42, 1), annotation(73, 4),
                           annotation(42, 1), annotation(73, 72, true)};
    file["images"] = {{{"license", 1},
                       {"file_name", "COCO_val2014_000000000042.jpg"},
                       {"height", 480},
                       {"width", 640},
                       {"id", 42}},
                      {{"id", 73}, {"file_name", "COCO_val2014_000000000073.jpg"}},
                      {{"id", 74}, {"file_name", "COCO_val2014_000000000074.jpg"}}};
    file["categories"] = coco_categories();
    return file;
  }

  void write(const std::string& text) { std::ofstream(path_) << text; }

  std::string dir_, path_;
};

TEST_F(CocoGroundTruth, ReferenceNamesCoverTheBuiltinCocoClasses) {
  const std::vector<std::string>& classes = builtin_vocabulary("coco").classes;
  ASSERT_EQ(classes.size(), std::size(kCocoNames));
  for (size_t k = 0; k < classes.size(); ++k)
    EXPECT_EQ(reference_coco_name(kCocoNames[k]), classes[k]);
}

TEST_F(CocoGroundTruth, DropsImagesWithoutAnnotationsByDefault) {
  write(standard_file().dump());
  const GroundTruth truth =
      read_coco_ground_truth({path_, dir_ + "/val2014", false}, Dataset::kCoco2014);
  ASSERT_EQ(truth.images.size(), 2u);
  EXPECT_EQ(truth.images[0].id, "COCO_val2014_000000000042");
  EXPECT_EQ(truth.images[0].image_path, dir_ + "/val2014/COCO_val2014_000000000042.jpg");
  EXPECT_EQ(truth.images[0].labels, (std::vector<int>{0, 15}));  // person, cat
  // motorbike (3) and the crowd annotation's tvmonitor (62)
  EXPECT_EQ(truth.images[1].labels, (std::vector<int>{3, 62}));
  ASSERT_EQ(truth.warnings.size(), 1u);
  EXPECT_NE(truth.warnings[0].find("1 images have no annotations (left out"), std::string::npos);
}

TEST_F(CocoGroundTruth, KeepsThemWhenAsked) {
  write(standard_file().dump(1));
  const GroundTruth truth = read_coco_ground_truth({path_, "", true}, Dataset::kCoco2017);
  ASSERT_EQ(truth.images.size(), 3u);
  EXPECT_TRUE(truth.images[2].labels.empty());
  EXPECT_EQ(truth.images[2].image_path, "COCO_val2014_000000000074.jpg");
  EXPECT_NE(truth.warnings[0].find("kept as all-negative"), std::string::npos);
}

TEST_F(CocoGroundTruth, AnnotationsOfUnlistedImagesAreCounted) {
  nlohmann::json file = standard_file();
  file["annotations"].push_back(annotation(999, 5));
  write(file.dump());
  const GroundTruth truth = read_coco_ground_truth({path_, "", false}, Dataset::kCoco2014);
  ASSERT_EQ(truth.warnings.size(), 2u);
  EXPECT_EQ(truth.warnings[1], "1 annotations refer to images the file does not list (ignored)");
}

TEST_F(CocoGroundTruth, ACustomClassListTakesCategoryNamesAsWritten) {
  nlohmann::json file = standard_file();
  file["categories"] = {{{"id", 1}, {"name", "person"}},
                        {{"id", 4}, {"name", "motorcycle"}},
                        {{"id", 17}, {"name", "cat"}},
                        {{"id", 72}, {"name", "tv"}}};
  write(file.dump());
  // The reference's renaming (motorcycle -> motorbike) is for the 80 COCO classes only.
  const ClassList mine{"mine.txt", {"tv", "cat", "person", "motorcycle"}};
  const GroundTruth truth = read_coco_ground_truth({path_, "", false, mine}, Dataset::kCoco2014);
  EXPECT_EQ(truth.classes, mine.names);
  ASSERT_EQ(truth.images.size(), 2u);
  EXPECT_EQ(truth.images[0].labels, (std::vector<int>{1, 2}));
  EXPECT_EQ(truth.images[1].labels, (std::vector<int>{0, 3}));
}

void expect_error(const std::function<void()>& read, const std::string& fragment) {
  testing::expect_throw_with<GroundTruthError>(read, fragment);
}

TEST_F(CocoGroundTruth, BadFilesGiveErrorsNamingFileAndProblem) {
  auto read = [&] { read_coco_ground_truth({path_, "", false}, Dataset::kCoco2014); };
  expect_error(read, "cannot read the annotation file");

  const std::string good = standard_file().dump();
  write(good.substr(0, good.size() / 2));
  expect_error(read, "instances_val2014.json: malformed JSON at byte");
  write("[1, 2]");
  expect_error(read, "no top-level object");
  write("{\"images\": [], \"annotations\": []}");
  expect_error(read, "no \"categories\" array");

  nlohmann::json file = standard_file();
  file["categories"][3]["name"] = "hovercraft";
  write(file.dump());
  expect_error(read, "category 4 'hovercraft' is not one of the 80 COCO classes");

  file = standard_file();
  file["annotations"].push_back(annotation(42, 91));
  write(file.dump());
  expect_error(read, "category_id 91, which \"categories\" does not list");

  file = standard_file();
  file["annotations"][1].erase("category_id");
  write(file.dump());
  expect_error(read, "annotations[1] has no integer \"category_id\"");

  file = standard_file();
  file["images"][2].erase("file_name");
  write(file.dump());
  expect_error(read, "images[2] has no \"file_name\"");

  file = standard_file();
  file["images"][2]["id"] = 42;
  write(file.dump());
  expect_error(read, "image id 42 is listed twice");

  file = standard_file();
  file["annotations"] = nlohmann::json::array();
  write(file.dump());
  expect_error(read, "no images to evaluate");

  EXPECT_THROW(read_coco_ground_truth({path_, "", false}, Dataset::kVoc2007), UsageError);
}

}  // namespace
}  // namespace tagclip
