// Ground truth from a PASCAL VOC devkit folder: ImageSets/<set>.txt for the image ids and
// Annotations/<id>.xml for the objects in each.
#pragma once

#include <string>
#include <vector>

#include "tagclip/eval/ground_truth.h"

namespace tagclip {

// Objects VOC marks <difficult>1</difficult>. The authors' split files include them: their
// voc2007/test_cls.txt lists all 4,952 test images and, per class, the images with any
// object of it (person 2,097, chair 545), not only the non-difficult counts of the devkit's
// statistics (person 2,007, chair 417).
enum class DifficultObjects { kInclude, kExclude };

// "include" or "exclude"; anything else is a UsageError.
DifficultObjects parse_difficult_objects(const std::string& rule);

struct VocOptions {
  std::string root;  // e.g. VOCdevkit/VOC2007: holds Annotations/, ImageSets/, JPEGImages/
  // ImageSets/Main/<split>.txt, or ImageSets/<split>.txt when it holds a '/'
  // ("Segmentation/val": the 1,449 images of the authors' voc2012/val.txt). Empty: "test"
  // for VOC2007, "val" for VOC2012.
  std::string split;
  DifficultObjects difficult = DifficultObjects::kInclude;
  ClassList classes;  // empty: the 20 VOC classes
};

struct VocObject {
  std::string name;  // as written, surrounding white space trimmed
  bool difficult = false;
};

// The objects of one annotation file, parsed with tinyxml2. Throws GroundTruthError naming
// the file (and tinyxml2's line) for an unreadable or malformed file, a missing
// <annotation> root, an object without <name> or a <difficult> that is not 0 or 1.
std::vector<VocObject> read_voc_annotation(const std::string& xml_path);

// Every image of the split with the classes of its objects (class names mapped to the
// reference's 20-class order, or to options.classes). Images are root/JPEGImages/<id>.jpg.
// Throws GroundTruthError for a missing split file or annotation, and for an object whose
// class is not in the list (naming file and name). An image without objects (or, with kExclude,
// with only difficult ones) is kept as all-negative and counted in warnings.
GroundTruth read_voc_ground_truth(const VocOptions& options, Dataset dataset);

}  // namespace tagclip
