// VOC devkit ground truth on tiny devkit folders written by the tests.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "expect_throw.h"
#include "tagclip/eval/voc_ground_truth.h"
#include "test_support.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

struct Object {
  std::string name;
  int difficult;  // -1: no <difficult> element
};

class VocGroundTruth : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::make_scratch_dir(
        std::string("voc-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ + "/Annotations");
    fs::create_directories(root_ + "/ImageSets/Main");
    fs::create_directories(root_ + "/ImageSets/Segmentation");
  }

  void annotation(const std::string& id, const std::vector<Object>& objects) {
    std::ofstream xml(root_ + "/Annotations/" + id + ".xml");
    xml << "<annotation>\n\t<folder>VOC2007</folder>\n\t<filename>" << id << ".jpg</filename>\n"
        << "\t<size><width>500</width><height>375</height><depth>3</depth></size>\n";
    for (const Object& object : objects) {
      xml << "\t<object>\n\t\t<name>" << object.name << "</name>\n\t\t<pose>Left</pose>\n";
      if (object.difficult >= 0) xml << "\t\t<difficult>" << object.difficult << "</difficult>\n";
      xml << "\t\t<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox>\n"
          << "\t</object>\n";
    }
    xml << "</annotation>\n";
  }

  void image_set(const std::string& relative, const std::string& text) {
    std::ofstream(root_ + "/ImageSets/" + relative) << text;
  }

  // The standard three images: plain, one difficult-only class, a difficult duplicate.
  void standard_devkit() {
    annotation("000001", {{"dog", 0}, {"person", 0}});
    annotation("000002", {{"train", 0}, {"chair", 1}});
    annotation("000003", {{"sofa", 1}, {"sofa", 0}, {"  pottedplant\n", -1}});
    image_set("Main/test.txt", "000001\n000002\n000003\n");
  }

  std::string root_;
};

std::vector<std::vector<int>> labels_of(const GroundTruth& truth) {
  std::vector<std::vector<int>> labels;
  for (const GroundTruthImage& image : truth.images) labels.push_back(image.labels);
  return labels;
}

TEST_F(VocGroundTruth, ReadsTheTestSplitWithDifficultObjectsByDefault) {
  standard_devkit();
  const GroundTruth truth =
      read_voc_ground_truth({root_, "", DifficultObjects::kInclude}, Dataset::kVoc2007);
  ASSERT_EQ(truth.images.size(), 3u);
  EXPECT_EQ(truth.classes.size(), 20u);
  EXPECT_EQ(truth.images[0].id, "000001");
  EXPECT_EQ(truth.images[0].image_path, (fs::path(root_) / "JPEGImages" / "000001.jpg").string());
  // dog 11, person 14, train 18, chair 8, sofa 17, pottedplant 15 (the reference's order)
  EXPECT_EQ(labels_of(truth), (std::vector<std::vector<int>>{{11, 14}, {8, 18}, {15, 17}}));
  EXPECT_TRUE(truth.warnings.empty());
}

TEST_F(VocGroundTruth, ExcludeDropsDifficultObjectsOnly) {
  standard_devkit();
  const GroundTruth truth =
      read_voc_ground_truth({root_, "test", DifficultObjects::kExclude}, Dataset::kVoc2007);
  // chair was only difficult; sofa also has a non-difficult instance.
  EXPECT_EQ(labels_of(truth), (std::vector<std::vector<int>>{{11, 14}, {18}, {15, 17}}));
  ASSERT_EQ(truth.warnings.size(), 1u);
  EXPECT_EQ(truth.warnings[0], "2 difficult objects left out (--difficult exclude)");
}

TEST_F(VocGroundTruth, SplitsWithASlashAreUnderImageSets) {
  standard_devkit();
  image_set("Segmentation/val.txt", "000003\n\n000001\n");
  const GroundTruth truth =
      read_voc_ground_truth({root_, "Segmentation/val", {}}, Dataset::kVoc2012);
  ASSERT_EQ(truth.images.size(), 2u);
  EXPECT_EQ(truth.images[0].id, "000003");
  EXPECT_NE(truth.source.find("ImageSets/Segmentation/val.txt"), std::string::npos);
  // VOC2012 defaults to val.
  EXPECT_THROW(
      {
        try {
          read_voc_ground_truth({root_, "", {}}, Dataset::kVoc2012);
        } catch (const GroundTruthError& e) {
          EXPECT_NE(std::string(e.what()).find("ImageSets/Main/val.txt"), std::string::npos);
          throw;
        }
      },
      GroundTruthError);
}

TEST_F(VocGroundTruth, ImagesWithoutObjectsAreCountedNotDropped) {
  annotation("000001", {});
  annotation("000002", {{"cat", 1}});
  annotation("000003", {{"cat", 0}});
  image_set("Main/test.txt", "000001 -1\n000002  0\n000003  1\n");  // class-file layout
  const GroundTruth include = read_voc_ground_truth({root_, "", {}}, Dataset::kVoc2007);
  EXPECT_EQ(labels_of(include), (std::vector<std::vector<int>>{{}, {7}, {7}}));
  ASSERT_EQ(include.warnings.size(), 1u);
  EXPECT_EQ(include.warnings[0], "1 images have no objects (kept as all-negative)");
  const GroundTruth exclude =
      read_voc_ground_truth({root_, "", DifficultObjects::kExclude}, Dataset::kVoc2007);
  EXPECT_EQ(labels_of(exclude), (std::vector<std::vector<int>>{{}, {}, {7}}));
  EXPECT_EQ(exclude.warnings.size(), 3u);
}

TEST_F(VocGroundTruth, ACustomClassListMapsItsOwnNames) {
  annotation("000001", {{"star", 0}, {"moon", 0}});
  annotation("000002", {{"ring", 1}});
  image_set("Main/test.txt", "000001\n000002\n");
  const ClassList shapes{"shapes.txt", {"ring", "star", "moon"}};
  const GroundTruth truth =
      read_voc_ground_truth({root_, "", DifficultObjects::kInclude, shapes}, Dataset::kVoc2007);
  EXPECT_EQ(truth.classes, shapes.names);
  EXPECT_EQ(labels_of(truth), (std::vector<std::vector<int>>{{1, 2}, {0}}));

  annotation("000002", {{"dog", 0}});
  testing::expect_throw_with<GroundTruthError>(
      [&] {
        read_voc_ground_truth({root_, "", {}, shapes}, Dataset::kVoc2007);
      },
      "000002.xml: object class 'dog' is not one of the 3 classes of shapes.txt");
}

void expect_error(const std::function<void()>& read, const std::string& fragment) {
  testing::expect_throw_with<GroundTruthError>(read, fragment);
}

TEST_F(VocGroundTruth, BadFilesGiveErrorsNamingFileAndProblem) {
  image_set("Main/test.txt", "000001\n");
  const VocOptions options{root_, "", {}};
  auto read = [&] { read_voc_ground_truth(options, Dataset::kVoc2007); };
  expect_error(read, "000001.xml: no such annotation file");

  std::ofstream(root_ + "/Annotations/000001.xml") << "<annotation><object><name>dog</name>";
  expect_error(read, "000001.xml: malformed XML");

  std::ofstream(root_ + "/Annotations/000001.xml") << "<html></html>";
  expect_error(read, "no <annotation> root element");

  annotation("000001", {{"dgo", 0}});
  expect_error(read, "000001.xml: object class 'dgo' is not one of the 20 VOC classes");

  annotation("000001", {{"dog", 2}});
  expect_error(read, "<difficult> is '2', expected 0 or 1");

  std::ofstream(root_ + "/Annotations/000001.xml")
      << "<annotation><object><pose>x</pose></object></annotation>";
  expect_error(read, "line 1: <object> without a <name>");

  annotation("000001", {{"dog", 0}});
  image_set("Main/test.txt", "000001\n000001\n");
  expect_error(read, "image '000001' is listed twice");

  expect_error(
      [&] {
        read_voc_ground_truth({root_ + "/nope", "", {}}, Dataset::kVoc2007);
      },
      "cannot read the image set");
  EXPECT_THROW(read_voc_ground_truth(options, Dataset::kCoco2014), UsageError);
  EXPECT_THROW(parse_difficult_objects("sometimes"), UsageError);
}

}  // namespace
}  // namespace tagclip
